"""Compare-and-set helpers over JetStream KV, with msgspec values."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from contracts import decode_as, encode
from shared.errors import ConflictError

__all__ = ["create", "keys_matching", "live_entries", "read", "read_bytes", "update", "update_with_retry"]

T = TypeVar("T")


async def read(kv: KeyValue, key: str, type_: type[T]) -> tuple[T | None, int]:
    """The value at ``key`` and its revision; ``(None, 0)`` when absent or deleted."""
    data, revision = await read_bytes(kv, key)
    return (None, 0) if data is None else (decode_as(data, type_), revision)


async def read_bytes(kv: KeyValue, key: str) -> tuple[bytes | None, int]:
    """The stored bytes at ``key`` and their revision; ``(None, 0)`` when absent or deleted."""
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None, 0
    if entry.value is None or entry.operation in ("DEL", "PURGE"):
        return None, 0
    return entry.value, int(entry.revision or 0)


async def create(kv: KeyValue, key: str, value: object) -> int | None:
    """Create ``key``; ``None`` when it already exists (the caller lost a race or saw a duplicate). A
    ``bytes`` value is stored as it is (already encoded)."""
    try:
        return int(await kv.create(key, value if isinstance(value, bytes) else encode(value)))
    except KeyWrongLastSequenceError:
        return None
    except Exception as exc:  # nats-py reports an existing key on create as a generic API error
        if "wrong last sequence" in str(exc).lower() or "key exists" in str(exc).lower():
            return None
        raise


async def update(kv: KeyValue, key: str, value: object, revision: int) -> int:
    """Write ``value`` (``bytes``: as it is) only if ``key`` is still at ``revision``; :class:`ConflictError`
    otherwise."""
    try:
        return int(await kv.update(key, value if isinstance(value, bytes) else encode(value), last=revision))
    except KeyWrongLastSequenceError as exc:
        raise ConflictError(f"{key} changed since revision {revision}") from exc


async def update_with_retry(
    kv: KeyValue, key: str, type_: type[T], change: Callable[[T], T | None], *, attempts: int = 20
) -> tuple[T, T | None]:
    """Read, apply ``change`` (pure), write with compare-and-set; re-read and re-apply on conflict.

    Returns ``(before, after)``; ``after`` is ``None`` when ``change`` decided nothing changes.
    """
    for _ in range(attempts):
        current, revision = await read(kv, key, type_)
        if current is None:
            raise KeyError(key)
        new = change(current)
        if new is None:
            return current, None
        try:
            await update(kv, key, new, revision)
        except ConflictError:
            continue
        return current, new
    raise ConflictError(f"{key}: gave up after {attempts} conflicting writes")


async def keys_matching(kv: KeyValue, pattern: str) -> list[str]:
    """The live keys matching the subject ``pattern`` (``account.*``), sorted, read by the server's filter.

    (nats-py's ``keys(filters=...)`` matches the filters as substrings, so a wildcard there matches nothing;
    and a watch's end-of-history marker can come before entries the server already sent, so a watch may
    report no keys at all. The stream's own subject count, asked with a filter, is exact at that moment.)
    Deleted and purged keys are left out."""
    return sorted((await live_entries(kv, pattern)).keys())


async def live_entries(kv: KeyValue, pattern: str) -> dict[str, bytes]:
    """The latest value of every live key matching ``pattern``: ``{key: value}``."""
    prefix = kv._pre  # "$KV.<bucket>."
    info = await kv._js.stream_info(kv._stream, subjects_filter=f"{prefix}{pattern}")
    candidates = sorted(subject[len(prefix) :] for subject in (info.state.subjects or {}))

    async def value_of(key: str) -> bytes | None:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # deleted or purged since (KeyDeletedError is one)
            return None
        if entry.value is None or entry.operation in ("DEL", "PURGE"):
            return None
        return entry.value

    values = await asyncio.gather(*(value_of(key) for key in candidates))
    return {key: value for key, value in zip(candidates, values, strict=True) if value}
