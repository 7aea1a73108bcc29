"""Cron schedules: the server fires them, two coordinators share the ticks, each tick is one run."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from contracts import RebalanceRequest, RunRecord, subjects
from shared.bus import schedules
from shared.errors import InvalidInputError
from shared.settings import Settings
from shared.testing.system import build_service, running_system

pytestmark = pytest.mark.integration


async def test_each_tick_of_a_schedule_is_one_run_across_two_coordinators(settings: Settings) -> None:
    async with running_system(settings) as system:
        second = build_service("coordinator", settings, system.clock)  # a replica: shares the durable consumers
        await second.start()
        try:
            js = system.client.jetstream()
            request = RebalanceRequest(account_id="demo", dry_run=True)
            await schedules.put_schedule(js, name="nightly-demo", cron="@every 1s", request=request,
                                         now=system.clock.now())  # fmt: skip
            assert [s.name for s in await schedules.list_schedules(js)] == ["nightly-demo"]
            bucket = await js.key_value(subjects.KV_RUNS)
            watcher = await bucket.watch("run.*")
            completed: set[str] = set()
            async with asyncio.timeout(30):
                async for entry in watcher:
                    if entry is None or entry.value is None:
                        continue
                    record = msgspec.json.decode(entry.value, type=RunRecord)
                    if record.source == "schedule:nightly-demo" and record.status == "completed":
                        completed.add(record.run_id)
                        if len(completed) >= 3:
                            break
            await watcher.stop()
            assert await schedules.delete_schedule(js, "nightly-demo") is True
            assert await schedules.list_schedules(js) == []

            # The purge ends the firing: the ticks in the stream are all there will be. Each must become
            # exactly one run (a tick still in flight may need a moment to be handled).
            async def ticks() -> int:
                fired = await js.stream_info(
                    subjects.STREAM_TIMERS, subjects_filter=subjects.schedule_fire("nightly-demo")
                )
                return sum((fired.state.subjects or {}).values())

            async def scheduled_runs() -> list[str]:
                found = []
                for key in await bucket.keys():
                    record = await system.run_record(key.removeprefix("run."))
                    if record is not None and record.source == "schedule:nightly-demo":
                        found.append(record.run_id)
                return found

            async with asyncio.timeout(20):
                while len(runs := await scheduled_runs()) != (fired := await ticks()):
                    await asyncio.sleep(0.1)
            assert fired >= 3
            assert len(set(runs)) == len(runs) == fired  # one run per tick: none lost, none doubled
        finally:
            await second.stop()


async def test_a_bad_cron_or_name_is_refused_with_the_reason(settings: Settings) -> None:
    async with running_system(settings, services=("portfolio",)) as system:
        js = system.client.jetstream()
        request = RebalanceRequest(account_id="demo")
        with pytest.raises(InvalidInputError, match="cron 'every tuesday'"):
            await schedules.put_schedule(js, name="x", cron="every tuesday", request=request, now=system.clock.now())
        with pytest.raises(InvalidInputError, match="schedule name"):
            await schedules.put_schedule(js, name="a.b", cron="@daily", request=request, now=system.clock.now())
        assert await schedules.delete_schedule(js, "missing") is False
