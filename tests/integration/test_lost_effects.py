"""A run whose command and deadline the server never stored is not lost (issue 10: ``kill -9`` of
nats-server mid-batch).

What a killed server loses: the coordinator wrote the run's next state, then the server died before it
stored the next step's command and that step's deadline (both published after the write). After the
restart the server delivers the step's result again, but its consumer state is written lazily, so that
copy may arrive as a *first* delivery. Here the loss is made exactly (the coordinator's publish of those
effects is dropped once) and the copy is delivered with a delivery count of one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nats.aio.msg import Msg

from contracts import RunRecord, subjects
from services.coordinator.domain import Effects
from services.coordinator.main import build
from shared.settings import Settings
from shared.testing.system import SERVICE_NAMES, InProcessSystem

pytestmark = pytest.mark.integration

WORKERS = tuple(name for name in SERVICE_NAMES if name != "coordinator")
LOST_STEP = "fetch-market-data"


@pytest.fixture
async def workers(settings: Settings) -> AsyncIterator[InProcessSystem]:
    system = InProcessSystem(settings, services=WORKERS)
    await system.start()
    try:
        yield system
    finally:
        await system.stop()


async def _coordinator_losing_one_step(system: InProcessSystem, settings: Settings) -> list[str]:
    """A coordinator whose publish of the effects that start ``LOST_STEP`` (its command and its deadline)
    vanishes once, as a server killed right after storing the run's write loses them."""
    runtime, coordinator = build(settings.model_copy(update={"service_name": "coordinator"}))
    lost: list[str] = []
    publish = coordinator._publish

    async def loses_once(out: Effects) -> None:
        starts_lost_step = any(o.subject == subjects.MARKET_DATA_FETCH for o in out.messages)
        if starts_lost_step and not lost:
            lost.append(out.run_id)
            return
        await publish(out)

    coordinator._publish = loses_once  # type: ignore[method-assign]
    await runtime.start()
    system.runtimes["coordinator"] = runtime
    return lost


async def _wait_step_running(system: InProcessSystem, run_id: str, step: str) -> RunRecord:
    bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
    watcher = await bucket.watch(f"run.{run_id}")
    try:
        async with asyncio.timeout(30):
            async for entry in watcher:
                if entry is not None and entry.value:
                    record = await system.run_record(run_id)
                    if record is not None and record.step(step).status == "running":
                        return record
    finally:
        await watcher.stop()
    raise AssertionError(f"{run_id}: {step} never started")


async def test_a_copy_delivered_as_a_first_delivery_publishes_the_lost_command_again(
    workers: InProcessSystem, settings: Settings
) -> None:
    # Deadlines and the watchdog are far away: only the copy of the result can bring the run back.
    slow = settings.model_copy(update={"step_timeout_seconds": 600.0, "run_watchdog_seconds": 600.0})
    loaded: list[bytes] = []

    async def keep(message: Msg) -> None:
        loaded.append(message.data)

    sub = await workers.client.subscribe(subjects.PORTFOLIO_LOADED, cb=keep)
    lost = await _coordinator_losing_one_step(workers, slow)
    run_id = await workers.request_run("demo", dry_run=True)
    stuck = await _wait_step_running(workers, run_id, LOST_STEP)
    await sub.unsubscribe()
    assert lost == [run_id] and stuck.status == "running"
    assert len(loaded) == 1

    # The restarted server delivers the result again, counted as a first delivery (a new stream message).
    js = workers.client.jetstream()
    await js.publish(subjects.PORTFOLIO_LOADED, loaded[0], headers={"Nats-Msg-Id": f"{run_id}:copy"})

    done = await workers.wait_for_run(run_id, timeout=30)
    assert done.status == "completed", done.error
    assert done.step(LOST_STEP).attempts == 1  # re-published, not timed out and retried


async def test_the_watchdog_publishes_again_what_an_overdue_run_waits_for(
    workers: InProcessSystem, settings: Settings
) -> None:
    # No copy will come (the result's handling was acknowledged) and the deadline is gone with the
    # command: only the watchdog (every 0.5 s) can find the run unchanged past its deadline (3 s).
    quick = settings.model_copy(update={"step_timeout_seconds": 3.0, "run_watchdog_seconds": 0.5})
    lost = await _coordinator_losing_one_step(workers, quick)
    run_id = await workers.request_run("demo", dry_run=True)
    await _wait_step_running(workers, run_id, LOST_STEP)
    assert lost == [run_id]
    done = await workers.wait_for_run(run_id, timeout=30)
    assert done.status == "completed", done.error
