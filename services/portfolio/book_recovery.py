"""Finish the book writes a crash interrupted, without a client having to send them again.

A committed book write (:mod:`services.portfolio.book_handlers`) is recorded under ``request.<id>`` before
its writes are made; an ``unfinished.<id>`` marker is created before the record and removed once the record
says ``done``. At start-up the service finishes every request still marked (a custodian import, a book load:
all or nothing even if the process died mid-way), and a request sent again finishes the same way.

Rolling forward is compare-and-set on the revision each key had when the request was planned: a key still
at that revision is written; a key that moved was written already (by the interrupted process, or by a
concurrent finisher) or changed since (a run's fills applied after the crash), and is left as it is, so a
roll-forward never overwrites a later change. Records from before the planned revision was kept carry -1
and are overwritten, as before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from contracts import Value
from shared.bus import kv as kvops
from shared.log import get_logger

__all__ = ["UnfinishedWrite", "mark_unfinished", "roll_forward", "unfinished_key", "unfinished_requests", "written"]

log = get_logger("portfolio.book")


class _Pending(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> object: ...
    @property
    def delete(self) -> bool: ...
    @property
    def revision(self) -> int: ...


class UnfinishedWrite(Value, frozen=True, kw_only=True):
    request_id: str
    since: datetime


def unfinished_key(request_id: str) -> str:
    return f"unfinished.{request_id}"


async def mark_unfinished(bucket: KeyValue, request_id: str, now: datetime) -> None:
    await kvops.create(bucket, unfinished_key(request_id), UnfinishedWrite(request_id=request_id, since=now))


async def written(bucket: KeyValue, request_id: str) -> None:
    """The request is done (or was never recorded): forget its marker."""
    await bucket.delete(unfinished_key(request_id))


async def unfinished_requests(bucket: KeyValue) -> list[str]:
    return [key.removeprefix(unfinished_key("")) for key in await kvops.keys_matching(bucket, unfinished_key("*"))]


async def _write_if_still(bucket: KeyValue, write: _Pending) -> int | None:
    """Make one planned write if its key is still at the planned revision; the new revision, or ``None``."""
    raw = bytes(write.value)  # type: ignore[call-overload]
    try:
        if write.delete:
            await bucket.delete(write.key, last=write.revision or None)
            return 0
        if write.revision == 0:
            return int(await bucket.create(write.key, raw))
        return int(await bucket.update(write.key, raw, last=write.revision))
    except KeyWrongLastSequenceError:
        return None
    except Exception as exc:  # nats-py reports a create of an existing key as a generic API error
        if "wrong last sequence" in str(exc).lower() or "key exists" in str(exc).lower():
            return None
        raise


async def roll_forward(bucket: KeyValue, request_id: str, writes: Sequence[_Pending]) -> dict[str, int]:
    """Make the writes of a committed request that are not made yet; each key's revision afterwards."""
    revisions: dict[str, int] = {}
    skipped = 0
    for write in writes:
        if write.revision < 0:  # recorded before planned revisions were kept: overwrite, as before
            revisions[write.key] = await _overwrite(bucket, write)
            continue
        revision = await _write_if_still(bucket, write)
        if revision is None:
            skipped += 1
            _, revision = await kvops.read(bucket, write.key, _Any)
        revisions[write.key] = revision
    log.info("book write rolled forward", request_id=request_id, writes=len(writes), already_made=skipped)
    return revisions


async def _overwrite(bucket: KeyValue, write: _Pending) -> int:
    if write.delete:
        await bucket.delete(write.key)
        return 0
    return int(await bucket.put(write.key, bytes(write.value)))  # type: ignore[call-overload]


class _Any(Value, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Any stored object (only its revision is read)."""
