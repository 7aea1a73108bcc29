"""Ask another service a question over core NATS request-reply."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from faststream.nats import NatsBroker

from contracts import encode
from contracts.queries import QueryReply
from shared.errors import DomainError, InvalidInputError, NotFoundError, TransientError

__all__ = ["request"]

T = TypeVar("T")


async def request(
    broker: NatsBroker, subject: str, payload: object, result_type: type[T], *, timeout: float = 10.0
) -> T:
    """Send ``payload`` to ``subject`` and decode the reply's result as ``result_type``.

    404, 409 and other 4xx replies raise :class:`NotFoundError`, :class:`DomainError` and
    :class:`InvalidInputError` with the responder's message; no responder or a timeout raises :class:`TransientError`.
    """
    try:
        response = await broker.request(encode(payload), subject, timeout=timeout)
    except Exception as exc:  # no responders, timeout, connection lost
        raise TransientError(f"{subject}: no answer ({type(exc).__name__}: {exc})") from None
    reply = msgspec.json.decode(response.body, type=QueryReply)
    if not reply.ok:
        if reply.status == 404:
            raise NotFoundError(reply.error)
        if reply.status == 409:  # the rules forbid it (DomainError at the responder)
            raise DomainError(reply.error)
        if 400 <= reply.status < 500:
            raise InvalidInputError(reply.error)
        raise TransientError(f"{subject}: {reply.error}")
    result: Any = reply.result
    return msgspec.convert(result, result_type, strict=False)
