"""A finished run never loses its final events: a coordinator that stops (or a bus that fails) between
writing the finished state and publishing still ends with ``run.v1.completed``, ``report.v1.generated``,
the notification, the account's lock released and the ``active.*`` marker gone, on redelivery and at
resume. A restarted coordinator finds its unfinished runs through the ``active.*`` index."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from nats.aio.msg import Msg

from contracts import RunRecord, subjects
from services.coordinator.handlers import Coordinator
from services.coordinator.main import build
from services.coordinator.store import RunStore, lock_key
from shared.bus.outgoing import Outgoing
from shared.bus.runtime import ServiceRuntime
from shared.settings import Settings
from shared.testing.system import SERVICE_NAMES, InProcessSystem

pytestmark = pytest.mark.integration

WORKERS = tuple(name for name in SERVICE_NAMES if name != "coordinator")


class Collector:
    """Core subscriptions to the public subjects, to see what was published."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}
        self.arrived = asyncio.Event()

    async def collect(self, message: Msg) -> None:
        self.seen.setdefault(message.subject, []).append(message.data.decode())
        self.arrived.set()

    async def wait_for(self, subject: str, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while subject not in self.seen:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def workers(settings: Settings) -> AsyncIterator[InProcessSystem]:
    system = InProcessSystem(settings, services=WORKERS)
    await system.start()
    try:
        yield system
    finally:
        await system.stop()


async def _coordinator(system: InProcessSystem, settings: Settings) -> tuple[ServiceRuntime, Coordinator]:
    runtime, coordinator = build(settings.model_copy(update={"service_name": "coordinator"}))
    await runtime.start()
    system.runtimes["coordinator"] = runtime
    return runtime, coordinator


async def _store(system: InProcessSystem) -> RunStore:
    return RunStore(await system.client.jetstream().key_value(subjects.KV_RUNS))


async def _wait_status(system: InProcessSystem, run_id: str, status: str) -> RunRecord:
    bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
    watcher = await bucket.watch(f"run.{run_id}")
    try:
        async with asyncio.timeout(30):
            async for entry in watcher:
                if entry is not None and entry.value is not None:
                    record = await system.run_record(run_id)
                    if record is not None and record.status == status:
                        return record
    finally:
        await watcher.stop()
    raise AssertionError(f"{run_id} never reached {status}")


async def _gone(store: RunStore, key: str) -> bool:
    """Whether ``key`` is absent (bounded wait on a KV watch, no sleeps)."""
    watcher = await store.bucket.watch(key)
    try:
        async with asyncio.timeout(20):
            async for entry in watcher:
                deleted = entry is None or entry.value is None or entry.operation in ("DEL", "PURGE")
                if deleted and not await _live(store, key):
                    return True
    finally:
        await watcher.stop()
    return False


async def _live(store: RunStore, key: str) -> list[str]:
    try:
        entry = await store.bucket.get(key)
    except Exception:
        return []
    return [key] if entry.value else []


async def _subscribe(system: InProcessSystem, collector: Collector) -> list[Any]:
    return [
        await system.client.subscribe(subject, cb=collector.collect)
        for subject in (subjects.RUN_COMPLETED, subjects.REPORT_GENERATED, subjects.NOTIFICATIONS_NOTIFY)
    ]


async def test_a_run_finished_by_a_coordinator_that_died_before_publishing_is_finalized_at_resume(
    workers: InProcessSystem, settings: Settings
) -> None:
    _, first = await _coordinator(workers, settings)

    async def dies_after_the_write(
        before: RunRecord | None, after: RunRecord | None, now: datetime, copy: bool
    ) -> None:
        if after is not None and after.status == "completed" and before is not None and before.status == "running":
            return  # the finished state is stored; the process is gone before it publishes anything
        await Coordinator._after(first, before, after, now, copy)

    first._after = dies_after_the_write  # type: ignore[method-assign]
    run_id = await workers.request_run("demo", dry_run=False)
    await _wait_status(workers, run_id, "completed")
    store = await _store(workers)
    assert await store.is_active(run_id)  # left behind: the lock and the marker
    assert await _live(store, lock_key("demo")) == [lock_key("demo")]
    await workers.stop_service("coordinator")

    collector = Collector()
    subs = await _subscribe(workers, collector)
    assert run_id in await store.active_run_ids()  # the index is readable (it was always empty)
    await _coordinator(workers, settings)  # a new coordinator resumes from the index
    record = await workers.wait_for_run(run_id)
    await collector.wait_for(subjects.RUN_COMPLETED)
    await collector.wait_for(subjects.REPORT_GENERATED)
    for sub in subs:
        await sub.unsubscribe()
    assert record.step("send-notifications").status == "completed"
    assert any(run_id in body for body in collector.seen[subjects.RUN_COMPLETED])
    assert await _gone(store, lock_key("demo"))
    assert await _gone(store, f"active.{run_id}")
    assert run_id not in await store.active_run_ids()
    # The account is free: the next trading run is not refused.
    after = await workers.wait_for_run(await workers.request_run("demo", dry_run=False))
    assert after.status == "completed", after.error


async def test_final_effects_lost_to_a_bus_failure_are_published_on_redelivery(
    workers: InProcessSystem, settings: Settings
) -> None:
    _, coordinator = await _coordinator(workers, settings)
    real_publish_all = coordinator.runtime.publish_all
    failures: list[str] = []

    async def blips_once(outgoing: Sequence[Outgoing]) -> None:
        if not failures and any(o.subject == subjects.RUN_COMPLETED for o in outgoing):
            failures.append("run.v1.completed")
            raise ConnectionError("nats: connection closed")  # the bus blipped as the run finished
        await real_publish_all(outgoing)

    coordinator.runtime.publish_all = blips_once  # type: ignore[method-assign]
    collector = Collector()
    subs = await _subscribe(workers, collector)
    run_id = await workers.request_run("demo", dry_run=False)
    record = await workers.wait_for_run(run_id)
    await collector.wait_for(subjects.RUN_COMPLETED)
    await collector.wait_for(subjects.REPORT_GENERATED)
    for sub in subs:
        await sub.unsubscribe()
    assert failures == ["run.v1.completed"]
    assert record.status == "completed" and record.step("send-notifications").status == "completed"
    store = await _store(workers)
    assert await _gone(store, lock_key("demo"))
    assert await _gone(store, f"active.{run_id}")


async def test_a_restarted_coordinator_resumes_a_running_run_from_the_index(
    workers: InProcessSystem, settings: Settings
) -> None:
    """Only the index can bring it back: its coordinator stored it and died before publishing its first
    command or deadline, so nothing is redelivered and no timer is due."""
    _, first = await _coordinator(workers, settings)

    async def dies_before_publishing(out: Any) -> None:
        return None

    first._publish = dies_before_publishing  # type: ignore[method-assign]
    run_id = await workers.request_run("demo", dry_run=True)
    stored = await _wait_status(workers, run_id, "running")
    assert stored.step("load-portfolio").status == "running"
    await workers.stop_service("coordinator")
    store = await _store(workers)
    assert await store.active_run_ids() == [run_id]
    await _coordinator(workers, settings)
    done = await workers.wait_for_run(run_id, timeout=30)
    assert done.status == "completed", done.error
    assert done.step("load-portfolio").attempts == 1
    assert await _gone(store, f"active.{run_id}")
