"""Waiting on KV watch events for a run to reach a state (never on sleeps)."""

from __future__ import annotations

import asyncio

from contracts import RunRecord, decode_as, run_key, subjects
from shared.testing.system import InProcessSystem

__all__ = ["wait_awaiting_approval"]


async def wait_awaiting_approval(system: InProcessSystem, run_id: str, timeout: float = 30.0) -> RunRecord:
    bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
    watcher = await bucket.watch(run_key(run_id))
    try:
        async with asyncio.timeout(timeout):
            async for entry in watcher:
                if entry is not None and entry.value:
                    record = decode_as(entry.value, RunRecord)
                    if record.step("approval").status == "running":
                        return record
    finally:
        await watcher.stop()
    raise TimeoutError(run_id)
