"""The saga's transitions on results: the step order of DESIGN.md section 5, skips, decisions, idempotency."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from contracts import STEP_NAMES
from services.coordinator.domain import apply_result, should_rebalance, start_run
from tests.unit.coordinator.helpers import (
    AS_OF,
    NOW,
    RUN,
    SNAPSHOT,
    Scenario,
    at,
    drive,
    report,
    requested,
    result,
    running,
    statuses,
)

FULL_ORDER = [
    "load-portfolio",
    "fetch-market-data",
    "analyze-market-conditions",
    "tax-context",
    "calculate-rebalancing",
    "tax-optimization",
    "execute-trades",
    "update-portfolio",
    "generate-report",
    "send-notifications",
]


def test_start_run_begins_load_portfolio() -> None:
    record = start_run(requested(), NOW)
    assert record.run_id == RUN
    assert record.status == "running"
    assert record.current_step == "load-portfolio"
    assert record.source == "http"
    assert record.created_at == record.updated_at == NOW
    assert [s.name for s in record.steps] == list(STEP_NAMES)
    load = record.step("load-portfolio")
    assert (load.status, load.attempts, load.started_at) == ("running", 1, NOW)
    assert all(s.status == "pending" and s.attempts == 0 for s in record.steps[1:])


def test_start_run_keeps_the_request_date() -> None:
    from datetime import date

    record = start_run(requested(Scenario(request_extra={"as_of": date(2025, 6, 30)})), NOW)
    assert record.as_of == date(2025, 6, 30)


def test_each_result_advances_to_the_next_step_in_order() -> None:
    states = drive(Scenario())
    # the step that runs after each result, one at a time
    assert [running(r)[0] if running(r) else None for r in states] == [*FULL_ORDER, None]
    final = states[-1]
    assert final.status == "completed"
    assert statuses(final) == {
        **{name: "completed" for name in STEP_NAMES},
        "approval": "skipped",
    }
    for before, after in itertools.pairwise(states):
        done = running(before)[0]
        assert after.step(done).status == "completed"
        assert after.step(done).finished_at is not None
        assert after.updated_at > before.updated_at


def test_the_record_keeps_references_and_the_facts_it_decides_on_not_the_outputs() -> None:
    states = drive(Scenario())
    final = states[-1]
    assert final.as_of == AS_OF and final.snapshot_id == SNAPSHOT
    assert final.outputs == [
        "load-portfolio",
        "analyze-market-conditions",
        "tax-context",
        "calculate-rebalancing",
        "tax-optimization",
        "execute-trades",
        "update-portfolio",
    ]
    assert final.taxable is True and final.needs_rebalancing is True
    assert final.planned_trades == 2 and final.executed is True
    # the conditions the saga decided on are kept once, in the report, once the run is done
    assert final.conditions is None and final.report is not None
    assert final.report.analysis.market_conditions.market_timing == "good"
    before_report = next(s for s in states if s.step("generate-report").status == "running")
    assert before_report.conditions is not None and before_report.conditions.market_timing == "good"
    # the outputs themselves are stored once under their own keys, never in the record
    assert final.account is None and final.quotes == {} and final.household_activity == []
    assert final.risk is None and final.tax_context is None and final.plan is None
    assert final.review is None and final.execution is None
    assert final.report is not None and final.report.warnings == ["stale price: BND", "plan warning"]
    assert final.notifications == ["log", "error: webhook: 500"]
    assert final.step("send-notifications").detail == "log, error: webhook: 500"


def test_duration_is_measured_from_start_to_finish() -> None:
    states = drive(Scenario())
    load = states[1].step("load-portfolio")
    assert load.started_at == NOW
    assert load.finished_at == at(1)
    assert load.duration_ms == 1000.0


@pytest.mark.parametrize(
    ("scenario", "why"),
    [
        (Scenario(account_type="traditional_ira"), "account is not taxable"),
        (Scenario(account_type="roth_ira"), "account is not taxable"),
        (Scenario(tax_optimization=False), "taxOptimization is off"),
    ],
)
def test_tax_optimization_is_skipped(scenario: Scenario, why: str) -> None:
    states = drive(scenario)
    after_plan = next(r for r in states if r.step("calculate-rebalancing").status == "completed")
    assert after_plan.step("tax-optimization").status == "skipped"
    assert after_plan.step("tax-optimization").detail == why
    assert running(after_plan) == ["execute-trades"]
    final = states[-1]
    assert "tax-optimization" not in final.outputs
    assert final.report is not None and final.report.analysis.tax_optimization is None
    assert final.status == "completed"
    assert final.step("update-portfolio").status == "completed"


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        (Scenario(needs_rebalancing=False, with_trades=False), "within bands: no rebalancing needed"),
        (Scenario(needs_rebalancing=False, with_trades=True), "within bands: no rebalancing needed"),
        (Scenario(timing="poor", vix=35.2), "market timing is poor (VIX 35.2 above 30)"),
        (Scenario(with_trades=False), "no trade passes the plan's constraints"),
        (Scenario(with_trades=False, force=True), "no trade passes the plan's constraints"),
    ],
)
def test_should_rebalance_false_skips_trading(scenario: Scenario, reason: str) -> None:
    states = drive(scenario)
    after_review = states[6]
    assert after_review.step("should-rebalance").status == "completed"
    assert after_review.should_rebalance is False
    assert reason in after_review.decision
    assert after_review.step("should-rebalance").detail == after_review.decision
    for name in ("approval", "execute-trades", "update-portfolio"):
        assert after_review.step(name).status == "skipped", name
    assert after_review.step("execute-trades").detail == after_review.decision
    assert running(after_review) == ["generate-report"]  # the coordinator builds it from the outputs
    reported = states[7]
    assert reported.status == "completed"
    assert reported.step("generate-report").status == "completed"
    assert running(reported) == ["send-notifications"]
    assert reported.executed is None and "execute-trades" not in reported.outputs


def test_force_overrides_poor_timing_and_within_bands() -> None:
    for scenario in (Scenario(timing="poor", vix=40.0, force=True), Scenario(needs_rebalancing=False, force=True)):
        states = drive(scenario)
        assert states[6].should_rebalance is True
        assert states[6].decision == "forced by the request"
        assert states[-1].step("execute-trades").status == "completed"


def test_neutral_timing_rebalances() -> None:
    states = drive(Scenario(timing="neutral", vix=25.0))
    assert states[6].should_rebalance is True
    assert states[6].decision == "needs rebalancing and market timing is neutral"


def test_should_rebalance_without_a_plan() -> None:
    record = start_run(requested(), NOW)
    assert should_rebalance(record) == (False, "no plan")


def test_dry_run_skips_update_portfolio() -> None:
    states = drive(Scenario(dry_run=True))
    after_execute = next(r for r in states if r.step("execute-trades").status == "completed")
    assert after_execute.step("update-portfolio").status == "skipped"
    assert after_execute.step("update-portfolio").detail == "dry run: nothing to apply"
    assert running(after_execute) == ["generate-report"]
    reported = report(after_execute, at(50), Scenario(dry_run=True))
    assert reported is not None and reported.status == "completed"
    assert reported.report is not None
    assert reported.report.execution.executed is False
    assert reported.report.execution.dry_run is True
    assert running(reported) == ["send-notifications"]


def test_generate_report_completes_the_run_and_notifications_follow() -> None:
    states = drive(Scenario())
    after_update = states[-2]
    assert after_update.step("generate-report").status == "completed"
    assert after_update.status == "completed"
    assert after_update.report is not None and after_update.report.run_id == RUN
    assert after_update.step("send-notifications").status == "running"
    assert after_update.step("send-notifications").attempts == 1
    final = states[-1]
    assert final.step("send-notifications").status == "completed"
    assert final.status == "completed"
    assert final.report == after_update.report


# ---- idempotency ---------------------------------------------------------------------------------
def test_a_duplicate_result_changes_nothing() -> None:
    states = drive(Scenario())
    for before, after in itertools.pairwise(states):
        step = running(before)[0]
        if step == "generate-report":
            assert report(after, at(100)) is None
            continue
        duplicate = result(before, step)
        assert apply_result(after, duplicate, at(100)) is None, step


def test_a_result_of_another_attempt_is_stale() -> None:
    record = start_run(requested(), NOW)
    for attempt in (0, 2, 3):
        stale = result(record, "load-portfolio", attempt=attempt)
        assert apply_result(record, stale, at(1)) is None, attempt


def test_a_result_for_a_step_not_running_is_ignored() -> None:
    record = start_run(requested(), NOW)
    early = result(record, "fetch-market-data", attempt=1)
    assert apply_result(record, early, at(1)) is None
    unknown = msgspec.structs.replace(result(record, "load-portfolio"), step="no-such-step")
    assert apply_result(record, unknown, at(1)) is None


def test_a_completed_run_ignores_a_late_notification_result() -> None:
    final = drive(Scenario())[-1]
    late = result(final, "send-notifications")
    assert apply_result(final, late, at(200)) is None


@pytest.mark.parametrize("mode", ["buy-only", "sell-only", "harvest", "harvest-reinvest"])
def test_an_explicit_mode_trades_without_the_band_and_timing_gates(mode: str) -> None:
    states = drive(Scenario(needs_rebalancing=False, timing="poor", vix=35.0, request_extra={"mode": mode}))
    assert states[6].should_rebalance is True and states[6].decision.startswith(f"{mode} run")
    assert states[-1].step("execute-trades").status == "completed"
    nothing = drive(Scenario(with_trades=False, request_extra={"mode": mode}))
    assert nothing[6].should_rebalance is False and nothing[6].decision == f"{mode}: nothing to trade"
