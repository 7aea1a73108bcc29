"""Run state in the KV bucket ``runs``: every write a compare-and-set on the revision."""

from __future__ import annotations

from collections.abc import Callable

from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from contracts import RunRecord, run_key
from shared.bus import kv as kvops

__all__ = ["RunStore"]


class RunStore:
    def __init__(self, bucket: KeyValue) -> None:
        self.bucket = bucket

    async def get(self, run_id: str) -> RunRecord | None:
        record, _ = await kvops.read(self.bucket, run_key(run_id), RunRecord)
        return record

    async def create(self, record: RunRecord) -> bool:
        """Store a new run; ``False`` when a run with this id exists (a duplicate request)."""
        return await kvops.create(self.bucket, run_key(record.run_id), record) is not None

    async def transition(
        self, run_id: str, change: Callable[[RunRecord], RunRecord | None]
    ) -> tuple[RunRecord | None, RunRecord | None]:
        """Apply a pure ``change`` with compare-and-set, re-reading and re-applying on conflict."""
        try:
            return await kvops.update_with_retry(self.bucket, run_key(run_id), RunRecord, change)
        except KeyError:
            return None, None

    async def run_ids(self) -> list[str]:
        try:
            keys = await self.bucket.keys()
        except NoKeysError:
            return []
        return sorted(key.removeprefix("run.") for key in keys if key.startswith("run."))
