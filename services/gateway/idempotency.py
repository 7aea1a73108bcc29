"""An ``Idempotency-Key`` names one request: reusing it with a different body is refused, saying what
differs (pure)."""

from __future__ import annotations

import msgspec

from contracts import RebalanceRequest
from services.gateway.views import camel

__all__ = ["reuse_problem"]


def reuse_problem(key: str, first: RebalanceRequest | None, again: RebalanceRequest) -> str | None:
    """Why ``again`` may not reuse ``key`` (first used for ``first``), or ``None`` when it may (same request,
    or the key is new)."""
    if first is None or first == again:
        return None
    before, after = msgspec.structs.asdict(first), msgspec.structs.asdict(again)
    differing = sorted(camel(name) for name in before if before[name] != after.get(name))
    return (
        f"Idempotency-Key {key!r} was already used for a different request (it differs in "
        f"{', '.join(differing)}); the key names that run: send a new key for a new request"
    )
