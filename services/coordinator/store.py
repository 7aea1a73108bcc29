"""Run state in the KV bucket ``runs``: every write a compare-and-set on the revision."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.errors import APIError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from contracts import RunRecord, Value, run_key, subjects
from shared.bus import kv as kvops
from shared.bus.lru import LRU
from shared.errors import ConflictError

__all__ = ["AccountLock", "ActiveRun", "RunStore", "lock_key"]


TERMINAL = ("completed", "failed", "cancelled")


class AccountLock(Value, frozen=True, kw_only=True):
    """The run that may trade an account now (key ``lock.<account_id>`` in the ``runs`` bucket)."""

    run_id: str


class ActiveRun(Value, frozen=True, kw_only=True):
    run_id: str


def lock_key(account_id: str) -> str:
    return f"lock.{account_id}"


KNOWN_RUNS = 1024
"""Runs whose last written (or read) state and revision a coordinator keeps in memory."""


class RunStore:
    """Runs in KV. The state this process last wrote is kept with its revision, so a transition usually
    writes without reading first: the compare-and-set on that revision fails if another coordinator wrote
    since, and the run is then read again. A change that does nothing is only trusted on a fresh read."""

    def __init__(self, bucket: KeyValue, *, known: int = KNOWN_RUNS, js: JetStreamContext | None = None) -> None:
        self.bucket = bucket
        self.js = js
        self._known: LRU[str, tuple[RunRecord, int]] = LRU(known)
        self.reads = 0

    async def _read(self, run_id: str) -> tuple[RunRecord | None, int]:
        self.reads += 1
        record, revision = await kvops.read(self.bucket, run_key(run_id), RunRecord)
        if record is not None:
            self._known.put(run_id, (record, revision))
        return record, revision

    async def get(self, run_id: str) -> RunRecord | None:
        record, _ = await self._read(run_id)
        return record

    async def create(self, record: RunRecord) -> bool:
        """Store a new run; ``False`` when a run with this id exists (a duplicate request)."""
        revision = await kvops.create(self.bucket, run_key(record.run_id), record)
        if revision is not None:
            self._known.put(record.run_id, (record, revision))
        return revision is not None

    async def transition(
        self,
        run_id: str,
        change: Callable[[RunRecord], RunRecord | None],
        *,
        before_write: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[RunRecord | None, RunRecord | None]:
        """Apply a pure ``change`` with compare-and-set, re-reading and re-applying on conflict.

        ``before_write`` runs before the write that makes the change (e.g. storing the step output the new
        state refers to); it may run again if that write loses a race."""
        known = self._known.get(run_id)
        for _ in range(20):
            fresh = known is None
            if known is None:
                record, revision = await self._read(run_id)
                if record is None:
                    return None, None
            else:
                record, revision = known
            after = change(record)
            if after is None:
                if not fresh:  # maybe stale: read the run before deciding nothing changes
                    known = None
                    continue
                return record, None
            if before_write is not None:
                await before_write()
            try:
                written = await kvops.update(self.bucket, run_key(run_id), after, revision)
            except ConflictError:
                known = None
                continue
            self._known.put(run_id, (after, written))
            return record, after
        raise ConflictError(f"{run_key(run_id)}: gave up after 20 conflicting writes")

    async def acquire(self, account_id: str, run_id: str) -> str | None:
        """Let ``run_id`` trade ``account_id``; returns the run holding it instead, if one still runs.

        Two runs that trade one account at once would both plan from the same lots. The lock is taken
        with compare-and-set; a lock left by a finished (or never stored) run is taken over.
        """
        key = lock_key(account_id)
        for _ in range(20):
            if await kvops.create(self.bucket, key, AccountLock(run_id=run_id)) is not None:
                return None
            lock, revision = await kvops.read(self.bucket, key, AccountLock)
            if lock is None:
                continue  # released meanwhile: try to create it again
            if lock.run_id == run_id:
                return None
            holder = await self.get(lock.run_id)
            if holder is not None and holder.status not in TERMINAL:
                return lock.run_id
            try:
                await kvops.update(self.bucket, key, AccountLock(run_id=run_id), revision)
                return None
            except ConflictError:
                continue
        raise ConflictError(f"{key}: gave up after repeated conflicting writes")

    async def release(self, account_id: str, run_id: str) -> None:
        """Free the account if ``run_id`` holds it."""
        key = lock_key(account_id)
        lock, revision = await kvops.read(self.bucket, key, AccountLock)
        if lock is not None and lock.run_id == run_id:
            try:
                await self.bucket.delete(key, last=revision)
            except (KeyWrongLastSequenceError, APIError):  # someone else changed it: not ours any more
                return

    async def mark_active(self, run_id: str) -> bool:
        """Index an unfinished run (``active.<run_id>``), so a restart resumes it without reading every run;
        ``False`` when the marker was there already."""
        return await kvops.create(self.bucket, f"active.{run_id}", ActiveRun(run_id=run_id)) is not None

    async def mark_finished(self, run_id: str) -> None:
        """Remove the run's ``active.*`` marker. With the JetStream context the key is purged from the
        bucket's stream (no delete marker is left behind: about 110 bytes kept per finished run)."""
        key = f"active.{run_id}"
        if self.js is None:
            await self.bucket.delete(key)
            return
        await self.js.purge_stream(f"KV_{subjects.KV_RUNS}", subject=f"$KV.{subjects.KV_RUNS}.{key}")

    async def is_active(self, run_id: str) -> bool:
        """Whether ``run_id`` is still indexed: a finished run whose final effects are not known published."""
        marker, _ = await kvops.read(self.bucket, f"active.{run_id}", ActiveRun)
        return marker is not None

    async def active_run_ids(self) -> list[str]:
        """The runs marked active: what a restarted coordinator must look at (a subject-filtered watch)."""
        keys = await kvops.keys_matching(self.bucket, "active.*")
        return sorted(key.removeprefix("active.") for key in keys)
