"""A run through every service on a real nats-server (services in one event loop, each with its own
connection): the report is right, the ledger changes exactly once, duplicates and bad messages are
handled, timeouts retry, and a restarted coordinator resumes."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from contracts import (
    PortfolioLoaded,
    RebalancePlanned,
    RebalanceRequest,
    RebalanceRequested,
    RunRecord,
    encode,
    subjects,
)
from services.portfolio.domain import AccountState, account_key
from shared.bus import kv as kvops
from shared.money import settle
from shared.settings import Settings
from shared.testing.system import InProcessSystem, running_system
from tests.integration.expected import HOUSEHOLD, account_value, close_on, demo_account, vix_on

pytestmark = pytest.mark.integration

AS_OF = "2026-05-01"


async def _account(system: InProcessSystem, account_id: str = "demo") -> AccountState:
    bucket = await system.client.jetstream().key_value(subjects.KV_PORTFOLIOS)
    state, _ = await kvops.read(bucket, account_key(account_id), AccountState)
    assert state is not None
    return state


async def _drained(system: InProcessSystem, stream: str, durable: str) -> None:
    """Wait until a consumer has no pending or unacknowledged messages (bounded)."""
    js = system.client.jetstream()
    async with asyncio.timeout(20):
        while True:
            info = await js.consumer_info(stream, durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.05)


async def test_dry_run_of_demo_completes_with_the_right_report(system: InProcessSystem) -> None:
    run_id = await system.request_run("demo", dry_run=True)
    record = await system.wait_for_run(run_id)
    assert record.status == "completed", record.error
    statuses = {s.name: s.status for s in record.steps}
    assert statuses == {
        "load-portfolio": "completed",
        "fetch-market-data": "completed",
        "analyze-market-conditions": "completed",
        "tax-context": "completed",
        "calculate-rebalancing": "completed",
        "tax-optimization": "completed",
        "should-rebalance": "completed",
        "approval": "skipped",
        "execute-trades": "completed",
        "update-portfolio": "skipped",
        "generate-report": "completed",
        "send-notifications": "completed",
    }
    assert all(s.attempts == 1 for s in record.steps if s.status == "completed" and s.name in ("load-portfolio",))
    report = record.report
    assert report is not None
    assert str(report.as_of) == AS_OF
    assert report.portfolio_value == account_value("demo", AS_OF)
    assert report.analysis.needs_rebalancing is True
    assert report.analysis.market_conditions.volatility_index == pytest.approx(vix_on(AS_OF))
    assert report.analysis.market_conditions.market_timing == "good"  # VIX below 20
    # Allocation before, from the CSV closes: equity = VTI + VEA, bond = BND, reit = VNQ, cash.
    value = account_value("demo", AS_OF)
    shares = {"VTI": 100, "BND": 200, "VEA": 150, "VNQ": 50}
    equity = (shares["VTI"] * close_on("VTI", AS_OF) + shares["VEA"] * close_on("VEA", AS_OF)) * 100 / value
    assert report.allocation_before["equity"] == equity.quantize(Decimal("0.01"))
    assert report.analysis.deviations["cash"] == (Decimal(demo_account()["cash"]) * 100 / value).quantize(
        Decimal("0.01")
    )
    # Trades bring every class within 0.5 point of the target, whole shares, cash never negative.
    for name, target in report.target_allocation.items():
        assert abs(report.allocation_after[name] - target) < Decimal("0.5"), name
    assert report.actions and all(a.shares == a.shares.to_integral_value() for a in report.actions)
    assert report.allocation_after["cash"] >= 0
    # The BND loss lot would be washed by the IRA's AGG purchase of 2026-04-20: it is not the lot sold.
    sells = [a for a in report.actions if a.action == "sell"]
    assert sells and all(lot.lot_id != "demo-bnd-1" for a in sells for lot in a.lots)
    bnd = next(a for a in sells if a.symbol == "BND")
    assert "keeps demo-bnd-1: a household purchase in the last 30 days would wash its loss" in bnd.reason
    assert all(a.reason for a in report.actions)
    # Risk before and after the trades, from the analysis step's covariance (cash has no volatility).
    risk = report.analysis.risk
    assert risk is not None and report.volatility_before is not None and report.volatility_after is not None
    invested = 1 - float(report.allocation_before["cash"]) / 100
    assert report.volatility_before == pytest.approx(risk.volatility * invested, rel=0.05)
    assert report.volatility_after > report.volatility_before  # cash goes into equity and REITs
    # Dry run: simulated, nothing executed, the ledger unchanged.
    assert report.execution.dry_run is True and report.execution.executed is False
    assert report.execution.trades == [] and len(report.execution.simulated_trades) == len(report.actions)
    state = await _account(system)
    assert state.applied_runs == [] and state.account.cash == Decimal(demo_account()["cash"])


async def test_executed_run_applies_fills_to_lots_and_cash_exactly(system: InProcessSystem) -> None:
    before = (await _account(system)).account
    events: list[bytes] = []
    sub = await system.client.subscribe(subjects.TRADE_EXECUTED, cb=_collector(events))
    run_id = await system.request_run("demo", dry_run=False)
    record = await system.wait_for_run(run_id)
    await sub.unsubscribe()
    assert record.status == "completed", record.error
    assert record.step("update-portfolio").status == "completed"
    report = record.report
    assert report is not None and report.execution.executed is True
    fills = report.execution.trades
    assert len(fills) == len(report.actions)
    assert len(events) == len(fills)
    after = (await _account(system)).account
    expected_cash = before.cash
    for fill in fills:
        notional = fill.shares * fill.execution_price
        # each fill settles to the cent (half-even)
        expected_cash += (
            settle(notional - fill.commission) if fill.action == "sell" else -settle(notional + fill.commission)
        )
    assert after.cash == expected_cash
    assert after.cash >= 0
    assert str(after.last_rebalanced) == AS_OF
    held_before = {lot.lot_id: lot.shares for lot in before.lots}
    held_after = {lot.lot_id: lot.shares for lot in after.lots}
    for action in report.actions:
        if action.action == "sell":
            for lot in action.lots:
                assert held_after.get(lot.lot_id, Decimal(0)) == held_before[lot.lot_id] - lot.shares
    new_lots = [lot for lot in after.lots if lot.lot_id.startswith(run_id)]
    assert {lot.symbol for lot in new_lots} == {a.symbol for a in report.actions if a.action == "buy"}
    for new_lot in new_lots:
        fill = next(f for f in fills if f"{run_id}-{f.order_id.removeprefix(run_id + '.')}" == new_lot.lot_id)
        assert new_lot.cost_basis == fill.shares * fill.execution_price + fill.commission


def _collector(events: list[bytes]):  # type: ignore[no-untyped-def]
    async def collect(message) -> None:  # type: ignore[no-untyped-def]
        events.append(message.data)

    return collect


async def test_the_same_request_delivered_twice_creates_one_run(system: InProcessSystem) -> None:
    run_id = str(uuid.uuid4())
    message = RebalanceRequested(
        run_id=run_id,
        message_id=run_id,
        occurred_at=system.clock.now(),
        request=RebalanceRequest(account_id="demo", dry_run=False),
    )
    js = system.client.jetstream()
    first = await js.publish(subjects.REBALANCE_REQUESTED, encode(message), headers={"Nats-Msg-Id": run_id})
    again = await js.publish(subjects.REBALANCE_REQUESTED, encode(message), headers={"Nats-Msg-Id": run_id})
    assert again.duplicate is True and again.seq == first.seq  # JetStream drops the copy
    # A copy that slips past the de-duplication window (another message id) is still one run.
    await js.publish(subjects.REBALANCE_REQUESTED, encode(message), headers={"Nats-Msg-Id": run_id + "-copy"})
    record = await system.wait_for_run(run_id)
    await _drained(system, subjects.STREAM_EVT, "coordinator_requests")
    assert record.status == "completed"
    state = await _account(system)
    assert state.applied_runs.count(run_id) == 1
    orders = await js.key_value(subjects.KV_ORDERS)
    keys = [k for k in await orders.keys() if k.startswith(f"order.{run_id}.")]
    assert len(keys) == len(record.report.actions) if record.report else False
    assert (
        len([t for t in state.transactions if t.run_id == run_id])
        == sum(max(len(a.lots), 1) for a in record.report.actions)
        if record.report
        else False
    )


async def test_two_identical_requests_give_identical_trades(system: InProcessSystem) -> None:
    first = await system.wait_for_run(await system.request_run("demo", dry_run=True))
    second = await system.wait_for_run(await system.request_run("demo", dry_run=True))
    assert first.report is not None and second.report is not None
    assert first.report.actions and msgspec.to_builtins(first.report.actions) == msgspec.to_builtins(
        second.report.actions
    )
    assert first.report.portfolio_value == second.report.portfolio_value


async def test_unknown_account_fails_the_run_cleanly(system: InProcessSystem) -> None:
    failures: list[bytes] = []
    sub = await system.client.subscribe(subjects.RUN_FAILED, cb=_collector(failures))
    run_id = await system.request_run("no-such-account", dry_run=True)
    record = await system.wait_for_run(run_id)
    await sub.unsubscribe()
    assert record.status == "failed"
    assert record.failed_step == "load-portfolio"
    assert "no-such-account" in (record.error or "")
    assert record.step("load-portfolio").attempts == 1  # not retryable: answered at once
    assert record.step("execute-trades").status == "skipped"
    assert record.step("send-notifications").status == "completed"
    assert len(failures) == 1


async def test_a_malformed_command_goes_to_the_dlq_with_the_reason(system: InProcessSystem) -> None:
    js = system.client.jetstream()
    await js.publish(
        subjects.PORTFOLIO_LOAD, b'{"schema": "portfolio.load.v1", "run_id": 42}', headers={"Nats-Msg-Id": "garbage-1"}
    )
    dlq = await js.subscribe(subjects.dlq_subject(subjects.PORTFOLIO_LOAD), stream=subjects.STREAM_DLQ)
    message = await dlq.next_msg(timeout=20)
    assert message.headers is not None
    reason = message.headers["Rebalancer-Dlq-Reason"]
    assert "undecodable" in reason and "run_id" in reason
    assert message.data == b'{"schema": "portfolio.load.v1", "run_id": 42}'
    await dlq.unsubscribe()
    # The service did not crash: a run still completes.
    record = await system.wait_for_run(await system.request_run("demo", dry_run=True))
    assert record.status == "completed"


async def test_a_step_that_times_out_is_retried(settings: Settings) -> None:
    fast = settings.model_copy(update={"step_timeout_seconds": 1.5})
    async with running_system(fast) as system:
        await system.stop_service("tax")
        run_id = await system.request_run("demo", dry_run=True)
        bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
        watcher = await bucket.watch(f"run.{run_id}")
        async with asyncio.timeout(30):
            async for entry in watcher:
                if entry is None or entry.value is None:
                    continue
                record = msgspec.json.decode(entry.value, type=RunRecord)
                if record.step("tax-context").attempts >= 2:
                    break
        await watcher.stop()
        await system.start_service("tax")
        record = await system.wait_for_run(run_id)
        assert record.status == "completed", record.error
        tax_step = record.step("tax-context")
        assert tax_step.attempts >= 2
        assert "timed out" in (tax_step.error or "")


async def test_a_restarted_coordinator_resumes_without_applying_anything_twice(settings: Settings) -> None:
    async with running_system(settings) as system:
        await system.stop_service("execution")
        before = (await _account(system)).account
        run_id = await system.request_run("demo", dry_run=False)
        bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
        watcher = await bucket.watch(f"run.{run_id}")
        async with asyncio.timeout(30):
            async for entry in watcher:
                if entry is not None and entry.value is not None:
                    record = msgspec.json.decode(entry.value, type=RunRecord)
                    if record.step("execute-trades").status == "running":
                        break
        await watcher.stop()
        await system.stop_service("coordinator")  # the run is mid-flight, at the pivot
        await system.start_service("execution")  # its result waits in the EVT stream
        await system.start_service("coordinator")  # a new coordinator resumes every unfinished run
        record = await system.wait_for_run(run_id)
        assert record.status == "completed", record.error
        state = await _account(system)
        assert state.applied_runs.count(run_id) == 1
        fills = record.report.execution.trades if record.report else []
        spent = sum(
            (
                settle(f.shares * f.execution_price + f.commission)
                if f.action == "buy"
                else -settle(f.shares * f.execution_price - f.commission)
            )
            for f in fills
        )
        assert state.account.cash == before.cash - spent
        orders = await system.client.jetstream().key_value(subjects.KV_ORDERS)
        assert len([k for k in await orders.keys() if k.startswith(f"order.{run_id}.")]) == len(fills)


async def test_request_options_reach_the_plan(system: InProcessSystem) -> None:
    """excludeSymbols, maxTradeAmount and riskOverride of the original request shape the trades."""
    run_id = await system.request_run(
        "demo", dry_run=True, exclude_symbols=["VTI"], max_trade_amount=Decimal(1000), risk_override="conservative"
    )
    record = await system.wait_for_run(run_id)
    assert record.status == "completed", record.error
    report = record.report
    assert report is not None
    assert report.target_allocation == {"equity": 40, "bond": 50, "reit": 5, "cash": 5}
    assert report.actions, "a conservative target is far from the demo account"
    assert all(a.symbol != "VTI" for a in report.actions)
    assert all(a.estimated_value <= 1000 for a in report.actions)
    assert any(a.action == "buy" and a.asset_class == "bond" for a in report.actions)


async def test_a_withdrawal_raises_the_cash_with_losses_and_small_gains_first(system: InProcessSystem) -> None:
    run_id = await system.request_run("demo", dry_run=True, mode="sell-only", withdraw_amount=Decimal(6000))
    record = await system.wait_for_run(run_id)
    assert record.status == "completed", record.error
    assert record.report is not None
    sells = [a for a in record.report.actions if a.action == "sell"]
    assert sells and not [a for a in record.report.actions if a.action == "buy"]
    raised = sum((a.estimated_value for a in sells), Decimal(0))
    assert raised + Decimal(demo_account()["cash"]) >= Decimal(6000)
    short_term_gains = [lot for a in sells for lot in a.lots if lot.holding_period == "short" and lot.gain_loss > 0]
    assert short_term_gains == []  # enough long-term lots and losses to raise $6,000


async def _wait_for_approval(system: InProcessSystem, run_id: str) -> RunRecord:
    bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
    watcher = await bucket.watch(f"run.{run_id}")
    try:
        async with asyncio.timeout(30):
            async for entry in watcher:
                if entry is not None and entry.value is not None:
                    record = msgspec.json.decode(entry.value, type=RunRecord)
                    if record.step("approval").status == "running":
                        return record
    finally:
        await watcher.stop()
    raise AssertionError("never waited for approval")


async def _decide(system: InProcessSystem, run_id: str, approved: bool) -> None:
    from contracts import RunApprovalDecided

    message = RunApprovalDecided(
        run_id=run_id, message_id=f"{run_id}:approval", occurred_at=system.clock.now(), approved=approved,
        by="advisor@firm", reason="checked",
    )  # fmt: skip
    await system.client.jetstream().publish(
        subjects.RUN_APPROVAL_DECIDED, encode(message), headers={"Nats-Msg-Id": message.message_id}
    )


async def test_a_run_waits_for_approval_and_executes_once_approved(system: InProcessSystem) -> None:
    run_id = await system.request_run("demo", dry_run=False, require_approval=True)
    waiting = await _wait_for_approval(system, run_id)
    assert waiting.step("execute-trades").status == "pending"
    assert (await _account(system)).applied_runs == []  # nothing traded while waiting
    await _decide(system, run_id, approved=True)
    record = await system.wait_for_run(run_id)
    assert record.status == "completed" and record.report is not None
    assert record.report.execution.executed is True
    assert record.approval == "approved by advisor@firm: checked"


async def test_a_rejected_or_expired_approval_reports_without_trading(system: InProcessSystem) -> None:
    rejected = await system.request_run("demo", dry_run=False, require_approval=True)
    await _wait_for_approval(system, rejected)
    await _decide(system, rejected, approved=False)
    await system.wait_for_run(rejected)  # one trading run of an account at a time
    expiring = await system.request_run("demo", dry_run=False, require_approval=True, approval_timeout_seconds=1.0)
    for run_id, expected in ((rejected, "rejected by advisor@firm"), (expiring, "approval expired")):
        record = await system.wait_for_run(run_id)
        assert record.status == "completed" and record.report is not None
        assert record.report.execution.executed is False
        assert record.step("execute-trades").status == "skipped"
        assert expected in record.decision
    assert (await _account(system)).applied_runs == []


async def test_a_run_after_the_data_ends_flags_stale_prices(system: InProcessSystem) -> None:
    run_id = await system.request_run("demo", dry_run=True, as_of=date(2026, 5, 15))
    record = await system.wait_for_run(run_id)
    assert record.status == "completed", record.error
    report = record.report
    assert report is not None and str(report.as_of) == "2026-05-15"
    stale = [w for w in report.warnings if w.startswith("stale price")]
    assert stale and any("VTI last traded 2026-05-01" in w for w in stale)
    assert str(report.analysis.market_conditions.as_of) == "2026-05-01"  # the last day with data


async def test_two_trading_runs_of_one_account_never_overlap(system: InProcessSystem) -> None:
    await system.stop_service("execution")  # hold the first run at the pivot, holding the account
    first = await system.request_run("demo", dry_run=False)
    bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
    watcher = await bucket.watch(f"run.{first}")
    async with asyncio.timeout(30):
        async for entry in watcher:
            record = msgspec.json.decode(entry.value, type=RunRecord) if entry and entry.value else None
            if record is not None and record.step("execute-trades").status == "running":
                break
    await watcher.stop()
    second = await system.request_run("demo", dry_run=False)
    dry = await system.request_run("demo", dry_run=True)  # a dry run trades nothing: never refused
    refused = await system.wait_for_run(second)
    assert refused.status == "failed" and f"run {first} is trading it" in (refused.error or "")
    await system.start_service("execution")
    assert (await system.wait_for_run(dry)).status == "completed"
    assert (await system.wait_for_run(first)).status == "completed"
    third = await system.wait_for_run(await system.request_run("demo", dry_run=False))
    assert third.status == "completed", third.error  # the account is free again
    state = await _account(system)
    assert state.applied_runs.count(first) == 1 and second not in state.applied_runs


async def test_a_request_with_a_bad_account_or_run_id_goes_to_the_dlq(system: InProcessSystem) -> None:
    js = system.client.jetstream()
    dlq = await js.subscribe(subjects.dlq_subject(subjects.REBALANCE_REQUESTED), stream=subjects.STREAM_DLQ)
    bad_account = (
        b'{"schema":"rebalance.requested.v1","run_id":"r1","message_id":"r1","occurred_at":"2026-05-01T00:00:00Z",'
        b'"request":{"account_id":"demo; drop"}}'
    )
    bad_run = bad_account.replace(b"demo; drop", b"demo").replace(b'"run_id":"r1"', b'"run_id":"a.b"')
    for n, body in enumerate((bad_account, bad_run)):
        await js.publish(subjects.REBALANCE_REQUESTED, body, headers={"Nats-Msg-Id": f"bad-{n}"})
    reasons = [(await dlq.next_msg(timeout=20)).headers["Rebalancer-Dlq-Reason"] for _ in range(2)]  # type: ignore[index]
    await dlq.unsubscribe()
    assert "$.request.account_id" in reasons[0]
    assert "run_id 'a.b'" in reasons[1]
    assert await system.run_record("r1") is None


async def test_the_accounts_planning_settings_reach_the_plan(settings: Settings, tmp_path: Path) -> None:
    """Restricted symbols, the minimum trade and the tax budget come from the account's own settings."""
    household = json.loads(HOUSEHOLD.read_text())
    account = next(a for a in household["accounts"] if a["account_id"] == "demo")
    account.update({"restricted_symbols": ["VTI", "VEA"], "min_trade": "600", "max_estimated_tax": "0"})
    path = tmp_path / "household.json"
    path.write_text(json.dumps(household))
    kept = {"household_file": path, "keep_step_outputs": True}  # to read the plan as the planner wrote it
    async with running_system(settings.model_copy(update=kept)) as system:
        run_id = await system.request_run("demo", dry_run=True)
        record = await system.wait_for_run(run_id)
        loaded = await system.step_output(run_id, "load-portfolio", PortfolioLoaded)
        plan = (await system.step_output(run_id, "calculate-rebalancing", RebalancePlanned)).plan
    assert record.status == "completed", record.error
    assert loaded.account.restricted_symbols == ["VEA", "VTI"]
    assert plan is not None and plan.trades
    assert not [t for t in plan.trades if t.action == "buy" and t.symbol in ("VTI", "VEA")]
    assert all(t.value >= 600 for t in plan.trades)
    assert plan.estimated_tax <= 0
