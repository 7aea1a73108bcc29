"""A run as it stands now: its own record, or, for a run travelling in a chunk, the chunk's copy of it.

A batch's dry runs travel in chunks (:mod:`contracts.bundles`): the run's record is written when it starts
and when it ends; in between, its live state is in the chunk's record.
"""

from __future__ import annotations

from nats.js.kv import KeyValue

from contracts import RunRecord, chunk_key, decode_chunk, run_key
from shared.bus import kv as kvops

__all__ = ["read_run"]


async def read_run(runs: KeyValue, run_id: str) -> RunRecord | None:
    """The run ``run_id`` (KV ``runs``) with its live state; ``None`` for an unknown run."""
    record, _ = await kvops.read(runs, run_key(run_id), RunRecord)
    if record is None or not record.chunk_id or record.status in ("completed", "failed", "cancelled"):
        return record
    data, _ = await kvops.read_bytes(runs, chunk_key(record.chunk_id))
    chunk = decode_chunk(data) if data is not None else None
    if chunk is None:  # finished meanwhile: its final record was written before the chunk went away
        record, _ = await kvops.read(runs, run_key(run_id), RunRecord)
        return record
    return next((run for run in chunk.runs if run.run_id == run_id), record)
