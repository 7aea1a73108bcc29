"""``GET /api/runs/{runId}`` of a run travelling in a chunk: its live state comes from the chunk's record until
its own final record is written (and after the chunk is gone)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from fastapi.testclient import TestClient

from contracts import RebalanceRequest, RebalanceRequested, chunk_key, encode, encode_chunk, run_key, subjects
from services.coordinator.domain import apply_result
from services.coordinator.domain.chunk import start_chunk
from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing.system import InProcessSystem
from tests.unit.coordinator.helpers import result

pytestmark = pytest.mark.integration


async def test_a_chunked_run_shows_its_chunk_s_state_then_its_final_record(
    system: InProcessSystem, settings: Settings
) -> None:
    now = system.clock.now()
    request = RebalanceRequest(account_id="demo", dry_run=True)
    started = RebalanceRequested(run_id="run-c1", message_id="run-c1", occurred_at=now, request=request,
                                 source="batch:view-batch")  # fmt: skip
    chunk = start_chunk("chunk-view", "view-batch", [started], now)
    (first,) = chunk.runs
    moved = apply_result(first, result(first, "load-portfolio"), now)  # the chunk has it at the next step
    assert moved is not None and moved.current_step == "fetch-market-data"
    runs = await system.client.jetstream().key_value(subjects.KV_RUNS)
    await runs.put(run_key("run-c1"), encode(first))  # the run's first record: at its first step
    await runs.put(chunk_key("chunk-view"), encode_chunk(msgspec.structs.replace(chunk, runs=[moved])))

    def view() -> dict[str, object]:
        with TestClient(create_app(settings)) as client:
            response = client.get("/api/runs/run-c1")
            assert response.status_code == 200, response.text
            return dict(response.json())

    live = await asyncio.to_thread(view)
    assert live["status"] == "running" and live["currentStep"] == "fetch-market-data"
    final = msgspec.structs.replace(moved, status="cancelled", current_step=None)
    await runs.put(run_key("run-c1"), encode(final))  # its final record: read as it is
    await runs.purge(chunk_key("chunk-view"))
    done = await asyncio.to_thread(view)
    assert done["status"] == "cancelled"
