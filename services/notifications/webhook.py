"""Webhook delivery: signed, retried with back-off, and reported (never raised) when every try failed.

Signature (with ``WEBHOOK_SECRET`` set): each POST carries
``Rebalancer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>``.
A receiver recomputes the HMAC over the raw body it received, compares in constant time, and refuses a
``t`` outside its replay window (:func:`verify`, default 300 seconds).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from shared.redact import redact_text

__all__ = ["SIGNATURE_HEADER", "Delivery", "deliver", "sign", "verify"]

SIGNATURE_HEADER = "Rebalancer-Signature"
REPLAY_WINDOW_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Rebalancer-Signature`` header value of ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: float = REPLAY_WINDOW_SECONDS) -> bool:
    """What a receiver does: the header's ``t`` is within ``tolerance`` of ``now`` and one ``v1`` matches."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in fields if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(key.strip() == "v1" and hmac.compare_digest(value, expected) for key, value in fields)


@dataclass(frozen=True, slots=True)
class Delivery:
    delivered: bool
    attempts: int
    error: str = ""
    """Why the last try failed (URLs in it redacted); empty when delivered."""


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    attempts: int,
    backoff: float,
    secret: str | None,
    now: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Delivery:
    """POST ``body`` to ``url`` up to ``attempts`` times (back-off ``backoff`` doubling; a 4xx other than
    408/425/429 is not retried), each try signed afresh when ``secret`` is set."""
    error = ""
    for attempt in range(1, attempts + 1):
        sent = dict(headers)
        if secret:
            sent[SIGNATURE_HEADER] = sign(secret, body, int(now()))
        try:
            response = await client.post(url, content=body, headers=sent)
        except httpx.HTTPError as exc:
            error = redact_text(f"{type(exc).__name__}: {exc}")
        else:
            if response.status_code < 300:
                return Delivery(True, attempt)
            error = f"HTTP {response.status_code}"
            if not _retryable(response.status_code):
                return Delivery(False, attempt, error)
        if attempt < attempts:
            await sleep(backoff * 2 ** (attempt - 1))
    return Delivery(False, attempts, error)
