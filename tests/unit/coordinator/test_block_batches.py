"""Block batches in the coordinator: a live run of a batch that planned its trades waits for the block
(not in flight, the next account released), the block's size is known once nobody plans any more, and
the waiting run's execute-trades command says it trades in the block, with the long deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from contracts import BatchRequested, ExecuteTradesV2, RebalanceRequest, RebalanceRequested, RunRecord
from services.coordinator.domain import RetryPolicy, build_command, effects, finish_run, new_batch, start_run
from services.coordinator.domain.batch import block_size, park_run
from services.coordinator.domain.effects import due_by

NOW = datetime(2026, 5, 1, 21, 30, tzinfo=UTC)
BLOCKS = RetryPolicy(timeout_seconds=30.0, block_orders=True, block_wait_seconds=1800.0)


def _batch(accounts: list[str], max_in_flight: int) -> BatchRequested:
    return BatchRequested(
        run_id="b1", message_id="b1", occurred_at=NOW, account_ids=accounts,
        request=RebalanceRequest(account_id=accounts[0], dry_run=False), max_in_flight=max_in_flight,
    )  # fmt: skip


def test_a_run_waiting_for_the_block_frees_its_place_and_the_block_waits_for_every_account() -> None:
    record = new_batch(_batch(["a", "b", "c"], 1), NOW, default_max_in_flight=1)
    assert record.states == "rpp" and block_size(record) == 0
    record = park_run(record, 0, NOW) or record
    assert record.states == "wrp" and block_size(record) == 0  # b released; still planning
    assert park_run(record, 0, NOW) is None  # parked once
    record = finish_run(record, 1, "failed", NOW) or record  # b failed while planning: c's turn
    assert record.states == "wfr" and block_size(record) == 0
    record = park_run(record, 2, NOW) or record
    assert record.states == "wfw" and block_size(record) == 2 and record.status == "running"
    record = finish_run(record, 0, "completed", NOW) or record
    record = finish_run(record, 2, "completed", NOW) or record
    assert record.states == "cfc" and record.status == "completed"


def _run(source: str, dry_run: bool = False) -> RunRecord:
    request = RebalanceRequest(account_id="demo", dry_run=dry_run)
    return start_run(
        RebalanceRequested(run_id="r1", message_id="r1", occurred_at=NOW, request=request, source=source), NOW
    )


def test_only_live_runs_of_a_batch_trade_in_blocks_and_their_pivot_deadline_is_the_block_wait() -> None:
    live = _run("batch:b1")
    assert BLOCKS.in_block(live)
    assert not BLOCKS.in_block(_run("batch:b1", dry_run=True)) and not BLOCKS.in_block(_run("http"))
    assert not RetryPolicy().in_block(live)  # block orders off
    assert BLOCKS.step_timeout(live, "execute-trades") == 1800.0
    assert BLOCKS.step_timeout(live, "calculate-rebalancing") == 30.0
    assert BLOCKS.step_timeout(_run("http"), "execute-trades") == 30.0


def test_the_execute_command_of_a_block_run_says_so_and_its_deadline_is_long() -> None:
    run = _run("batch:b1")
    pivot = [s.name for s in run.steps].index("execute-trades")
    steps = [
        msgspec.structs.replace(
            s, status="running" if i == pivot else "completed" if i < pivot else "pending", attempts=int(i <= pivot)
        )
        for i, s in enumerate(run.steps)
    ]
    at_pivot = msgspec.structs.replace(
        run, steps=steps, current_step="execute-trades", as_of=NOW.date(), snapshot_id="2026-05-01-0123456789abcdef"
    )
    out = effects(run, at_pivot, NOW, BLOCKS)
    (command,) = [m.message for m in out.messages if isinstance(m.message, ExecuteTradesV2)]
    assert command.block and command.block_size == 0 and command.batch_id == "b1"
    assert [t.at for t in out.timers] == [NOW + timedelta(seconds=1800)]
    assert due_by(at_pivot, BLOCKS) == at_pivot.updated_at + timedelta(seconds=1800)  # the watchdog waits as long
    ready = build_command(at_pivot, "execute-trades", 1, NOW, block=True, block_size=3)
    assert isinstance(ready, ExecuteTradesV2) and ready.block_size == 3
    assert ready.message_id != command.message_id  # sent once per size, never de-duplicated away
