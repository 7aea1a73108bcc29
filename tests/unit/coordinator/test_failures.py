"""Failures, timers and cancellation: retry before the pivot with a limit, after it without one."""

from __future__ import annotations

import msgspec
import pytest

from contracts import STEP_NAMES, RunRecord
from services.coordinator.domain import apply_cancel, apply_failure, apply_result, apply_timer, start_run
from tests.unit.coordinator.helpers import (
    NOW,
    POLICY,
    Scenario,
    at,
    drive,
    failure,
    requested,
    result,
    running,
    statuses,
    timer,
)

PRE_PIVOT = [
    "load-portfolio",
    "fetch-market-data",
    "analyze-market-conditions",
    "tax-context",
    "calculate-rebalancing",
    "tax-optimization",
]


def at_step(step: str, s: Scenario = Scenario()) -> RunRecord:
    """The run while ``step`` is running (attempt 1)."""
    states = drive(s, stop_before=step)
    record = states[-1]
    assert running(record) == [step]
    return record


def retry(record: RunRecord, step: str) -> RunRecord:
    """Fail the current attempt (retryable) and fire the retry timer: the next attempt is running."""
    attempt = record.step(step).attempts
    record = apply_failure(record, failure(record, step, retryable=True), at(50), POLICY)  # type: ignore[assignment]
    assert record is not None and record.step(step).status == "retrying"
    record = apply_timer(record, timer(record, step, "retry", attempt + 1), at(51), POLICY)  # type: ignore[assignment]
    assert record is not None and record.step(step).status == "running"
    return record


@pytest.mark.parametrize("step", PRE_PIVOT)
def test_retryable_failure_before_the_pivot_retries(step: str) -> None:
    record = at_step(step)
    after = apply_failure(record, failure(record, step, retryable=True), at(50), POLICY)
    assert after is not None
    assert after.status == "running"
    assert after.step(step).status == "retrying"
    assert after.step(step).error == "boom"
    assert after.step(step).attempts == 1
    nxt = apply_timer(after, timer(after, step, "retry", 2), at(51), POLICY)
    assert nxt is not None
    assert (nxt.step(step).status, nxt.step(step).attempts) == ("running", 2)
    assert nxt.step(step).started_at == record.step(step).started_at
    assert nxt.current_step == step
    # the result of the old attempt is stale now; the new one advances
    assert apply_result(nxt, result(nxt, step, attempt=1), at(52)) is None
    done = apply_result(nxt, result(nxt, step), at(52))
    assert done is not None and done.step(step).status == "completed"
    assert done.step(step).attempts == 2


@pytest.mark.parametrize("step", PRE_PIVOT)
def test_after_max_attempts_the_run_fails(step: str) -> None:
    record = at_step(step)
    record = retry(retry(record, step), step)
    assert record.step(step).attempts == POLICY.max_attempts
    failed = apply_failure(record, failure(record, step, retryable=True), at(60), POLICY)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.failed_step == step
    assert failed.error == f"{step}: boom"
    assert failed.step(step).status == "failed"
    later = STEP_NAMES[STEP_NAMES.index(step) + 1 : -1]
    assert all(failed.step(name).status == "skipped" for name in later), statuses(failed)
    assert all(failed.step(name).detail == "run failed" for name in later if name != "tax-optimization")
    assert failed.step("send-notifications").status == "running"
    assert failed.step("send-notifications").attempts == 1
    # the run is over: a retry timer or a late result changes nothing
    assert apply_timer(failed, timer(failed, step, "retry", 4), at(61), POLICY) is None
    assert apply_result(failed, result(failed, step), at(61)) is None


@pytest.mark.parametrize("step", PRE_PIVOT)
def test_non_retryable_failure_before_the_pivot_fails_at_once(step: str) -> None:
    record = at_step(step)
    failed = apply_failure(record, failure(record, step, retryable=False), at(50), POLICY)
    assert failed is not None
    assert (failed.status, failed.failed_step, failed.step(step).status) == ("failed", step, "failed")
    assert failed.step(step).duration_ms is not None
    assert failed.step("execute-trades").status == "skipped"
    assert running(failed) == ["send-notifications"]


@pytest.mark.parametrize("step", ["execute-trades", "update-portfolio"])
@pytest.mark.parametrize("retryable", [True, False])
def test_after_the_pivot_failures_are_retried_without_limit(step: str, retryable: bool) -> None:
    record = at_step(step)
    for attempt in range(1, 3 * POLICY.max_attempts):
        after = apply_failure(record, failure(record, step, retryable=retryable), at(attempt), POLICY)
        assert after is not None, attempt
        assert after.status == "running"
        assert after.step(step).status == "retrying"
        record = apply_timer(after, timer(after, step, "retry", attempt + 1), at(attempt), POLICY)  # type: ignore[assignment]
        assert record is not None and record.step(step).attempts == attempt + 1
    done = apply_result(record, result(record, step), at(100))
    assert done is not None and done.step(step).status == "completed"


def test_a_failure_of_another_attempt_or_a_finished_step_is_ignored() -> None:
    record = at_step("tax-context")
    assert apply_failure(record, failure(record, "tax-context", retryable=False, attempt=2), at(1), POLICY) is None
    assert apply_failure(record, failure(record, "load-portfolio", retryable=False, attempt=1), at(1), POLICY) is None
    assert apply_failure(record, failure(record, "execute-trades", retryable=False, attempt=1), at(1), POLICY) is None


def test_a_duplicate_failure_changes_nothing() -> None:
    record = at_step("fetch-market-data")
    event = failure(record, "fetch-market-data", retryable=True)
    once = apply_failure(record, event, at(1), POLICY)
    assert once is not None
    assert apply_failure(once, event, at(2), POLICY) is None


def test_load_portfolio_failure_fails_the_run_without_an_account() -> None:
    record = start_run(requested(), NOW)
    failed = apply_failure(record, failure(record, "load-portfolio", retryable=False), at(1), POLICY)
    assert failed is not None and failed.account is None
    assert failed.status == "failed"
    assert running(failed) == ["send-notifications"]


# ---- timers --------------------------------------------------------------------------------------
def test_a_deadline_is_a_retryable_failure() -> None:
    record = at_step("analyze-market-conditions")
    after = apply_timer(record, timer(record, "analyze-market-conditions", "deadline", 1), at(31), POLICY)
    assert after is not None
    step = after.step("analyze-market-conditions")
    assert step.status == "retrying"
    assert step.error == "timed out after 30s (attempt 1)"
    assert after.status == "running"


def test_a_deadline_on_the_last_attempt_fails_the_run() -> None:
    step = "analyze-market-conditions"
    record = retry(retry(at_step(step), step), step)
    failed = apply_timer(record, timer(record, step, "deadline", 3), at(90), POLICY)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error == f"{step}: timed out after 30s (attempt 3)"


def test_a_deadline_after_the_pivot_retries() -> None:
    record = at_step("execute-trades")
    for attempt in (1, 2, 3, 4):
        record = apply_timer(record, timer(record, "execute-trades", "deadline", attempt), at(attempt), POLICY)  # type: ignore[assignment]
        assert record is not None and record.step("execute-trades").status == "retrying"
        record = apply_timer(record, timer(record, "execute-trades", "retry", attempt + 1), at(attempt), POLICY)  # type: ignore[assignment]
        assert record is not None
    assert record.status == "running"
    assert record.step("execute-trades").attempts == 5


def test_late_and_stale_timers_change_nothing() -> None:
    states = drive(Scenario())
    after_load = states[1]
    # the step finished before its deadline
    assert apply_timer(after_load, timer(after_load, "load-portfolio", "deadline", 1), at(30), POLICY) is None
    # a deadline of an older attempt
    record = retry(at_step("tax-context"), "tax-context")
    assert apply_timer(record, timer(record, "tax-context", "deadline", 1), at(60), POLICY) is None
    # a retry timer while the step runs, or for the wrong attempt
    assert apply_timer(record, timer(record, "tax-context", "retry", 2), at(60), POLICY) is None
    waiting = apply_failure(record, failure(record, "tax-context", retryable=True), at(61), POLICY)
    assert waiting is not None
    assert apply_timer(waiting, timer(waiting, "tax-context", "retry", 4), at(62), POLICY) is None
    assert apply_timer(waiting, timer(waiting, "no-such-step", "retry", 3), at(62), POLICY) is None
    # the same retry timer twice
    once = apply_timer(waiting, timer(waiting, "tax-context", "retry", 3), at(62), POLICY)
    assert once is not None
    assert apply_timer(once, timer(waiting, "tax-context", "retry", 3), at(63), POLICY) is None
    # a finished run
    final = states[-1]
    assert apply_timer(final, timer(final, "update-portfolio", "deadline", 1), at(99), POLICY) is None


def test_notification_failure_never_fails_the_run() -> None:
    states = drive(Scenario())
    record = states[-2]
    assert record.status == "completed"
    after = apply_failure(record, failure(record, "send-notifications", retryable=False), at(70), POLICY)
    assert after is not None
    assert after.status == "completed"
    assert after.step("send-notifications").status == "failed"
    assert after.error is None
    timed_out = apply_timer(record, timer(record, "send-notifications", "deadline", 1), at(70), POLICY)
    assert timed_out is not None and timed_out.status == "completed"
    assert timed_out.step("send-notifications").status == "failed"


# ---- cancellation --------------------------------------------------------------------------------
@pytest.mark.parametrize("step", PRE_PIVOT)
def test_cancel_before_the_pivot(step: str) -> None:
    record = at_step(step)
    cancelled = apply_cancel(record, at(40), "client asked")
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    assert cancelled.current_step is None
    assert cancelled.error == "cancelled: client asked"
    assert not running(cancelled)
    assert cancelled.step(step).status == "skipped"
    assert cancelled.step("execute-trades").status == "skipped"
    assert cancelled.step(STEP_NAMES[0]).status == ("completed" if step != STEP_NAMES[0] else "skipped")
    # a result that arrives after the cancel changes nothing
    assert apply_result(cancelled, result(record, step), at(41)) is None
    assert apply_cancel(cancelled, at(42), "again") is None


def test_cancel_while_retrying_before_the_pivot() -> None:
    record = at_step("tax-context")
    waiting = apply_failure(record, failure(record, "tax-context", retryable=True), at(1), POLICY)
    assert waiting is not None
    cancelled = apply_cancel(waiting, at(2), "")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.error == "cancelled"
    assert apply_timer(cancelled, timer(cancelled, "tax-context", "retry", 2), at(3), POLICY) is None


@pytest.mark.parametrize("step", ["execute-trades", "update-portfolio"])
def test_cancel_at_or_after_the_pivot_is_refused(step: str) -> None:
    assert apply_cancel(at_step(step), at(40), "too late") is None


def test_cancel_of_a_finished_run_is_refused() -> None:
    states = drive(Scenario())
    assert apply_cancel(states[-1], at(40), "done") is None
    assert apply_cancel(states[-2], at(40), "done") is None  # completed, notifications running
    skipped = drive(Scenario(needs_rebalancing=False, with_trades=False))[-1]
    assert apply_cancel(skipped, at(40), "done") is None


def test_a_failed_runs_notification_that_never_answers_times_out() -> None:
    record = at_step("load-portfolio")
    failed = apply_failure(record, failure(record, "load-portfolio", retryable=False), at(1), POLICY)
    assert failed is not None and failed.status == "failed"
    assert failed.step("send-notifications").status == "running"
    after = apply_timer(failed, timer(failed, "send-notifications", "deadline", 1), at(60), POLICY)
    assert after is not None and after.status == "failed"
    assert after.step("send-notifications").status == "failed" and after.current_step is None


def test_execution_refusing_to_trade_before_any_order_fails_the_run() -> None:
    record = at_step("execute-trades")
    refused = msgspec.structs.replace(
        failure(record, "execute-trades", retryable=False), error_type="TradingRefusedError", error="market closed"
    )
    failed = apply_failure(record, refused, at(50), POLICY)
    assert failed is not None and failed.status == "failed" and failed.failed_step == "execute-trades"
    assert failed.step("update-portfolio").status == "skipped"
    # A retryable failure with the same name is still retried (the refusal is only final when not retryable).
    retried = apply_failure(record, msgspec.structs.replace(refused, retryable=True), at(50), POLICY)
    assert retried is not None and retried.status == "running"
