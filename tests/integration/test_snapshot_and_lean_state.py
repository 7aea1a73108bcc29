"""The market snapshot and the lean run state on a real nats-server: a snapshot per (date, universe) built
once and stored by content key, step outputs stored once and dropped with their run, one pending timer
per run and none left behind, retention on every bucket, and the KV bytes a finished run keeps."""

from __future__ import annotations

import asyncio
import csv
from datetime import date

import pytest

from contracts import (
    PortfolioLoaded,
    RebalancePlanned,
    RunRecord,
    SnapshotAnalysis,
    SnapshotPrices,
    decode_as,
    snapshot_key,
    step_key,
    subjects,
)
from shared.securities import DEFAULT_SECURITIES_FILE
from shared.settings import Settings
from shared.testing.system import InProcessSystem, running_system

pytestmark = pytest.mark.integration

KEPT_PER_RUN_LIMIT = 10 * 1024
"""The issue's target for the KV bytes a finished run keeps (run record, markers, step outputs)."""


def _master() -> set[str]:
    with DEFAULT_SECURITIES_FILE.open() as fh:
        return {row["symbol"] for row in csv.DictReader(fh)}


async def _snapshot_parts(system: InProcessSystem, snapshot: str) -> tuple[SnapshotPrices, SnapshotAnalysis]:
    bucket = await system.client.jetstream().key_value(subjects.KV_SNAPSHOTS)
    prices = await bucket.get(snapshot_key(snapshot, "prices"))
    analysis = await bucket.get(snapshot_key(snapshot, "analysis"))
    assert prices.value is not None and analysis.value is not None
    return decode_as(prices.value, SnapshotPrices), decode_as(analysis.value, SnapshotAnalysis)


async def _stream_messages(system: InProcessSystem, stream: str, subject: str | None = None) -> int:
    info = await system.client.jetstream().stream_info(stream, subjects_filter=subject)
    if subject is None:
        return int(info.state.messages)
    return sum((info.state.subjects or {}).values())


async def _eventually_zero(system: InProcessSystem, stream: str, subject: str) -> bool:
    """A purge leaves no event to wait on: poll the stream's count, bounded (the purge follows the run's
    last write by one round trip)."""
    async with asyncio.timeout(20):
        while await _stream_messages(system, stream, subject):
            await asyncio.sleep(0.02)
    return True


async def test_runs_of_a_date_share_one_snapshot_of_the_whole_master(system: InProcessSystem) -> None:
    started = [await system.request_run("demo", dry_run=True) for _ in range(2)]  # at once, on a new snapshot
    first, second = await asyncio.gather(*(system.wait_for_run(run_id) for run_id in started))
    third = await system.wait_for_run(await system.request_run("demo-growth", dry_run=True))
    assert all(r.status == "completed" for r in (first, second, third))
    assert first.snapshot_id and first.snapshot_id == second.snapshot_id == third.snapshot_id
    assert first.snapshot_id.startswith("2026-05-01-")
    prices, analysis = await _snapshot_parts(system, first.snapshot_id)
    # The universe is every security of the master with prices on the date: all 70 on 2026-05-01.
    assert set(prices.symbols) == set(prices.quotes) == _master()
    assert prices.quotes["VTI"].close > 0 and prices.as_of == date(2026, 5, 1)
    assert set(analysis.symbols) == _master() and len(analysis.covariance) == len(analysis.symbols)
    assert analysis.conditions.volatility_index > 0 and analysis.observations > 700
    # Stored once: one prices part and one analysis part in the bucket, whatever the number of runs.
    assert await _stream_messages(system, f"KV_{subjects.KV_SNAPSHOTS}") == 2
    # Each service read it from KV once and then from memory.
    for name in ("tax", "rebalancing", "coordinator"):
        snapshots = await system.runtimes[name].snapshots()
        assert snapshots.reads <= 2, name  # the prices part (and, for the planner, the analysis part)


async def test_an_earlier_date_has_its_own_smaller_universe(system: InProcessSystem) -> None:
    record = await system.wait_for_run(await system.request_run("demo-growth", dry_run=True, as_of=date(2020, 3, 16)))
    assert record.snapshot_id.startswith("2020-03-16-")  # (the plan may refuse lots bought after the date)
    bucket = await system.client.jetstream().key_value(subjects.KV_SNAPSHOTS)
    entry = await bucket.get(snapshot_key(record.snapshot_id, "prices"))
    assert entry.value is not None
    prices = decode_as(entry.value, SnapshotPrices)
    assert "SGOV" not in prices.symbols  # listed in June 2020
    assert {"VTI", "BND", "XLC"} <= set(prices.symbols) < _master()


async def test_step_outputs_are_stored_once_while_the_run_needs_them_then_dropped(system: InProcessSystem) -> None:
    await system.stop_service("execution")  # the run waits at execute-trades
    run_id = await system.request_run("demo", dry_run=True)
    bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
    watcher = await bucket.watch(f"run.{run_id}")
    async with asyncio.timeout(30):
        async for entry in watcher:
            if entry is not None and entry.value is not None:
                waiting = decode_as(entry.value, RunRecord)
                if waiting.step("execute-trades").status == "running":
                    break
    await watcher.stop()
    loaded = await system.step_output(run_id, "load-portfolio", PortfolioLoaded)
    planned = await system.step_output(run_id, "calculate-rebalancing", RebalancePlanned)
    assert loaded.account.account_id == "demo" and planned.plan.trades
    assert waiting.account is None and waiting.plan is None and waiting.quotes == {}  # references only
    assert waiting.outputs == [
        "load-portfolio",
        "analyze-market-conditions",
        "tax-context",
        "calculate-rebalancing",
        "tax-optimization",
    ]
    # One pending timer for the run (the execute-trades deadline): the earlier steps' deadlines are gone.
    assert await _stream_messages(system, subjects.STREAM_TIMERS, subjects.run_timer_schedule(run_id)) == 1
    steps_stream = f"KV_{subjects.KV_STEPS}"
    assert await _stream_messages(system, steps_stream, f"$KV.{subjects.KV_STEPS}.{run_id}.>") == 5
    await system.start_service("execution")
    record = await system.wait_for_run(run_id)
    assert record.status == "completed" and record.report is not None and record.report.actions
    # The coordinator drops the outputs, then the run's active marker, after the run's final effects: both
    # purged from their streams, so no delete marker is kept either; the run record alone stays.
    runs_stream = f"KV_{subjects.KV_RUNS}"
    assert await _eventually_zero(system, runs_stream, f"$KV.{subjects.KV_RUNS}.active.{run_id}")
    assert await _stream_messages(system, runs_stream, f"$KV.{subjects.KV_RUNS}.*.{run_id}") == 1
    assert await _stream_messages(system, steps_stream, f"$KV.{subjects.KV_STEPS}.{run_id}.>") == 0
    assert await _eventually_zero(system, subjects.STREAM_TIMERS, subjects.run_timer_schedule(run_id))


async def test_kept_step_outputs_are_there_after_the_run(settings: Settings) -> None:
    async with running_system(settings.model_copy(update={"keep_step_outputs": True})) as system:
        run_id = await system.request_run("demo", dry_run=True)
        record = await system.wait_for_run(run_id)
        planned = await system.step_output(run_id, "calculate-rebalancing", RebalancePlanned)
        bucket = await system.client.jetstream().key_value(subjects.KV_STEPS)
        history = await bucket.history(step_key(run_id, "calculate-rebalancing"))
    assert [a.symbol for a in record.report.actions] == [t.symbol for t in planned.plan.trades]  # type: ignore[union-attr]
    assert len(history) == 1  # one revision


async def test_every_bucket_of_a_run_has_one_revision_and_the_retention(settings: Settings) -> None:
    async with running_system(settings.model_copy(update={"run_retention_days": 2.0})) as system:
        js = system.client.jetstream()
        for bucket in (subjects.KV_RUNS, subjects.KV_STEPS, subjects.KV_SNAPSHOTS):
            config = (await js.stream_info(f"KV_{bucket}")).config
            assert config.max_msgs_per_subject == 1, bucket
            assert config.max_age == pytest.approx(2 * 86_400.0), bucket


async def test_a_finished_run_keeps_at_most_ten_kilobytes_of_kv(system: InProcessSystem) -> None:
    await system.wait_for_run(await system.request_run("demo", dry_run=True))  # the snapshot is built
    js = system.client.jetstream()

    async def kept() -> int:
        total = 0
        for bucket in (subjects.KV_RUNS, subjects.KV_STEPS):
            total += int((await js.stream_info(f"KV_{bucket}")).state.bytes)
        return total

    before = await kept()
    runs = 5
    for _ in range(runs):
        record = await system.wait_for_run(await system.request_run("demo", dry_run=True))
        assert record.status == "completed"
    per_run = (await kept() - before) / runs
    assert 0 < per_run <= KEPT_PER_RUN_LIMIT, per_run
