"""Reads shared by the commands of one bundle: a key read once per bundle, not once per run.

A bundle's commands (:mod:`contracts.bundles`) are handled one after the other in one task; inside
:func:`shared_reads` (the runtime opens it around a bundle), :func:`read_once` keeps what a read found
for the rest of the bundle, as if the bundle had read everything it needs at its start. Outside a bundle
every read goes to the store. A service that writes a key inside the scope calls :func:`forget`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["computed_once", "forget", "read_once", "shared_reads"]

T = TypeVar("T")
_READS: ContextVar[dict[str, Any] | None] = ContextVar("bundle_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Share reads until the block ends (a bundle's handling)."""
    token = _READS.set({})
    try:
        yield
    finally:
        _READS.reset(token)


async def read_once(key: str, read: Callable[[], Awaitable[T]]) -> T:
    """``await read()``, or what it gave for ``key`` earlier in the same scope."""
    reads = _READS.get()
    if reads is None:
        return await read()
    if key not in reads:
        reads[key] = await read()
    return reads[key]


def computed_once(key: str, compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave for ``key`` earlier in the same scope (a value derived from shared
    reads only: its key must name what it was derived from)."""
    reads = _READS.get()
    if reads is None:
        return compute()
    if key not in reads:
        reads[key] = compute()
    return reads[key]


def forget(key: str) -> None:
    """``key`` was written: the next read in the scope goes to the store."""
    reads = _READS.get()
    if reads is not None:
        reads.pop(key, None)
