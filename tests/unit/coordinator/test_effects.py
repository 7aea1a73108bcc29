"""What each transition publishes: commands with deterministic message ids, timers, public events."""

from __future__ import annotations

import itertools
from datetime import timedelta

import msgspec
import pytest

from contracts import (
    ApplyFillsV2,
    ExecuteTradesV2,
    FetchMarketData,
    LoadPortfolio,
    Notify,
    ReportGenerated,
    RunCompleted,
    RunFailed,
    RunRecord,
    StepTimerFired,
    subjects,
)
from services.coordinator.domain import apply_failure, apply_timer, due_by, effects, resume_effects, start_run
from services.coordinator.domain.effects import Effects
from tests.unit.coordinator.helpers import (
    NOW,
    POLICY,
    RUN,
    SNAPSHOT,
    Scenario,
    at,
    drive,
    failure,
    requested,
    running,
    timer,
)

# Written out, not derived from the code under test.
COMMAND_SUBJECT = {
    "load-portfolio": "portfolio.v1.cmd.load",
    "fetch-market-data": "market_data.v1.cmd.fetch",
    "analyze-market-conditions": "analysis.v1.cmd.analyze",
    "tax-context": "tax.v1.cmd.build-context",
    "calculate-rebalancing": "rebalancing.v1.cmd.plan",
    "tax-optimization": "tax.v1.cmd.review-plan",
    "execute-trades": "execution.v1.cmd.execute",
    "update-portfolio": "portfolio.v1.cmd.apply-fills",
    "send-notifications": "notifications.v1.cmd.notify",
}
COMMANDS = set(COMMAND_SUBJECT.values())


def _all_effects(states: list[RunRecord]) -> list[Effects]:
    out = [effects(None, states[0], NOW, POLICY)]
    out += [effects(before, after, at(i + 1), POLICY) for i, (before, after) in enumerate(itertools.pairwise(states))]
    return out


def test_start_publishes_load_portfolio_with_a_deadline() -> None:
    record = start_run(requested(), NOW)
    out = effects(None, record, NOW, POLICY)
    assert [(m.subject, m.msg_id) for m in out.messages] == [("portfolio.v1.cmd.load", f"{RUN}:load-portfolio:1")]
    command = out.messages[0].message
    assert isinstance(command, LoadPortfolio)
    assert (command.run_id, command.step, command.attempt, command.account_id) == (
        RUN,
        "load-portfolio",
        1,
        "demo",
    )
    assert command.message_id == f"{RUN}:load-portfolio:1"
    assert len(out.timers) == 1
    deadline = out.timers[0]
    assert deadline.at == NOW + timedelta(seconds=30)
    assert isinstance(deadline.message, StepTimerFired)
    assert (deadline.message.step, deadline.message.attempt, deadline.message.kind) == ("load-portfolio", 1, "deadline")
    assert deadline.message.message_id == f"{RUN}:load-portfolio:1:deadline"


@pytest.mark.parametrize(
    "scenario",
    [Scenario(), Scenario(dry_run=True), Scenario(account_type="roth_ira"), Scenario(timing="poor", vix=33.0)],
)
def test_each_newly_running_step_gets_its_command_and_deadline(scenario: Scenario) -> None:
    states = drive(scenario)
    for (before, after), out in zip(itertools.pairwise([None, *states]), _all_effects(states), strict=True):
        assert after is not None  # only the first pair's "before" is None
        new = [n for n in running(after) if before is None or n not in running(before)]
        assert out.report_due == ("generate-report" in new)  # the coordinator's own step: no command
        new = [n for n in new if n != "generate-report"]
        commands = [m for m in out.messages if m.subject in COMMANDS]
        assert [(m.subject, m.msg_id) for m in commands] == [(COMMAND_SUBJECT[n], f"{RUN}:{n}:1") for n in new]
        for outgoing in commands:
            assert outgoing.message.message_id == outgoing.msg_id  # type: ignore[attr-defined]
            assert outgoing.message.step in COMMAND_SUBJECT  # type: ignore[attr-defined]
        assert [(t.message.step, t.message.kind, t.message.attempt) for t in out.timers] == [
            (n, "deadline", 1) for n in new
        ]


def test_dispatched_commands_over_a_full_run() -> None:
    states = drive(Scenario())
    subjects_sent = [m.subject for out in _all_effects(states) for m in out.messages if m.subject in COMMANDS]
    assert subjects_sent == list(COMMAND_SUBJECT.values())


def test_commands_carry_references_not_copies_of_earlier_outputs() -> None:
    states = drive(Scenario())
    sent = [m.message for out in _all_effects(states) for m in out.messages if m.subject in COMMANDS]
    fetch = next(m for m in sent if isinstance(m, FetchMarketData))
    assert fetch.symbols == []  # the whole security master: the planner gets every candidate priced
    execute = next(m for m in sent if isinstance(m, ExecuteTradesV2))
    assert (execute.snapshot_id, execute.dry_run, execute.account_id) == (SNAPSHOT, False, "demo")
    apply = next(m for m in sent if isinstance(m, ApplyFillsV2))
    assert (apply.run_id, apply.account_id) == (RUN, "demo")
    for message in sent[:-1]:  # no step command repeats the account, prices, plan or fills (Notify: the report)
        fields = {f.name for f in msgspec.structs.fields(message)}  # type: ignore[arg-type]
        assert not fields & {"account", "prices", "trades", "fills", "plan", "context", "quotes"}, message


def test_the_run_timer_is_cleared_once_no_step_is_left_running() -> None:
    states = drive(Scenario())
    cleared = [i for i, out in enumerate(_all_effects(states)) if out.clear_timer]
    assert cleared == [len(states) - 1]  # after send-notifications, and only then


def test_completion_publishes_report_and_completed_exactly_once() -> None:
    states = drive(Scenario())
    published = [m for out in _all_effects(states) for m in out.messages]
    reports = [m for m in published if m.subject == subjects.REPORT_GENERATED]
    completed = [m for m in published if m.subject == subjects.RUN_COMPLETED]
    assert len(reports) == 1 and len(completed) == 1
    assert reports[0].subject == "report.v1.generated" and completed[0].subject == "run.v1.completed"
    assert (reports[0].msg_id, completed[0].msg_id) == (f"{RUN}:report", f"{RUN}:completed")
    report_event = reports[0].message
    assert isinstance(report_event, ReportGenerated)
    assert report_event.report == states[-1].report
    done = completed[0].message
    assert isinstance(done, RunCompleted)
    assert (done.account_id, done.executed, done.trades) == ("demo", True, 2)
    assert not any(m.subject == subjects.RUN_FAILED for m in published)
    # the notification is sent in the same transition as the report
    notify_index = [
        i
        for i, out in enumerate(_all_effects(states))
        if any(m.subject in (subjects.NOTIFICATIONS_NOTIFY,) for m in out.messages)
    ]
    report_index = [
        i
        for i, out in enumerate(_all_effects(states))
        if any(m.subject == subjects.REPORT_GENERATED for m in out.messages)
    ]
    assert notify_index == report_index


def test_failure_publishes_run_failed_once_and_a_failure_notification() -> None:
    record = drive(Scenario(), stop_before="tax-context")[-1]
    failed = apply_failure(record, failure(record, "tax-context", retryable=False), at(20), POLICY)
    assert failed is not None
    out = effects(record, failed, at(20), POLICY)
    by_subject = {m.subject: m for m in out.messages}
    assert set(by_subject) == {"run.v1.failed", "notifications.v1.cmd.notify"}
    event = by_subject["run.v1.failed"].message
    assert isinstance(event, RunFailed)
    assert (event.failed_step, event.error, by_subject["run.v1.failed"].msg_id) == (
        "tax-context",
        "tax-context: boom",
        f"{RUN}:failed",
    )
    notify = by_subject["notifications.v1.cmd.notify"].message
    assert isinstance(notify, Notify) and notify.status == "failed"
    assert "tax-context" in notify.message
    assert by_subject["notifications.v1.cmd.notify"].msg_id == f"{RUN}:send-notifications:1"
    # once: the next transition of the failed run does not publish it again
    again = effects(failed, failed, at(21), POLICY)
    assert again.messages == [] and again.timers == []


def test_failure_of_load_portfolio_still_notifies() -> None:
    record = start_run(requested(), NOW)
    failed = apply_failure(record, failure(record, "load-portfolio", retryable=False), at(1), POLICY)
    assert failed is not None
    out = effects(record, failed, at(1), POLICY)
    assert sorted(m.subject for m in out.messages) == ["notifications.v1.cmd.notify", "run.v1.failed"]


def test_retrying_schedules_a_retry_timer_with_backoff_then_the_next_attempt() -> None:
    record = drive(Scenario(), stop_before="fetch-market-data")[-1]
    waiting = apply_failure(record, failure(record, "fetch-market-data", retryable=True), at(10), POLICY)
    assert waiting is not None
    out = effects(record, waiting, at(10), POLICY)
    assert out.messages == []
    assert [(t.message.kind, t.message.attempt, t.at) for t in out.timers] == [
        ("retry", 2, at(10) + timedelta(seconds=0.5))
    ]
    assert out.timers[0].message.message_id == f"{RUN}:fetch-market-data:2:retry"
    second = apply_timer(waiting, timer(waiting, "fetch-market-data", "retry", 2), at(11), POLICY)
    assert second is not None
    out = effects(waiting, second, at(11), POLICY)
    assert [(m.subject, m.msg_id) for m in out.messages] == [("market_data.v1.cmd.fetch", f"{RUN}:fetch-market-data:2")]
    assert [(t.message.kind, t.message.attempt) for t in out.timers] == [("deadline", 2)]
    # attempt 2 fails: the backoff doubles
    third = apply_failure(second, failure(second, "fetch-market-data", retryable=True), at(12), POLICY)
    assert third is not None
    assert [t.at for t in effects(second, third, at(12), POLICY).timers] == [at(12) + timedelta(seconds=1)]


def test_backoff_is_capped() -> None:
    assert [POLICY.delay_after(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert POLICY.delay_after(50) == 30.0


def test_resume_republishes_the_in_flight_command_with_the_same_msg_id() -> None:
    record = drive(Scenario(), stop_before="calculate-rebalancing")[-1]
    first = effects(None, record, at(5), POLICY)
    resumed = resume_effects(record, at(500), POLICY)
    assert [(m.subject, m.msg_id) for m in resumed.messages] == [
        ("rebalancing.v1.cmd.plan", f"{RUN}:calculate-rebalancing:1")
    ]
    original = next(m for m in first.messages if m.subject == "rebalancing.v1.cmd.plan")
    assert resumed.messages[0].msg_id == original.msg_id
    assert resumed.messages[0].message.message_id == original.message.message_id  # type: ignore[attr-defined]
    assert [(t.message.kind, t.at) for t in resumed.timers] == [("deadline", at(500) + timedelta(seconds=30))]


def test_resume_of_a_retrying_step_reschedules_its_retry_only() -> None:
    record = drive(Scenario(), stop_before="tax-context")[-1]
    waiting = apply_failure(record, failure(record, "tax-context", retryable=True), at(10), POLICY)
    assert waiting is not None
    resumed = resume_effects(waiting, at(100), POLICY)
    assert resumed.messages == []
    assert [(t.message.step, t.message.kind, t.message.attempt) for t in resumed.timers] == [
        ("tax-context", "retry", 2)
    ]


def test_resume_of_a_finished_run_publishes_nothing() -> None:
    final = drive(Scenario())[-1]
    resumed = resume_effects(final, at(100), POLICY)
    assert resumed.messages == [] and resumed.timers == []


def test_no_change_no_effects() -> None:
    for record in drive(Scenario()):
        out = effects(record, record, at(1), POLICY)
        assert out.messages == [] and out.timers == []


def test_due_by_is_the_running_steps_deadline_from_the_runs_last_change() -> None:
    record = drive(Scenario(), stop_before="calculate-rebalancing")[-1]
    assert record.step("calculate-rebalancing").status == "running"
    assert due_by(record, POLICY) == record.updated_at + timedelta(seconds=30)


def test_due_by_of_a_retrying_step_is_its_retry_time() -> None:
    record = drive(Scenario(), stop_before="tax-context")[-1]
    waiting = apply_failure(record, failure(record, "tax-context", retryable=True), at(10), POLICY)
    assert waiting is not None
    assert due_by(waiting, POLICY) == at(10) + timedelta(seconds=0.5)


def test_due_by_of_a_report_waiting_to_be_built_is_now_and_of_a_finished_run_none() -> None:
    states = drive(Scenario())
    building = next(s for s in states if s.step("generate-report").status == "running")
    assert due_by(building, POLICY) == building.updated_at
    assert due_by(states[-1], POLICY) is None


def test_due_by_of_an_approval_is_its_decisions_deadline() -> None:
    scenario = Scenario(request_extra={"require_approval": True, "approval_timeout_seconds": 600.0})
    waiting = drive(scenario, stop_before="approval")[-1]
    started = waiting.step("approval").started_at
    assert waiting.step("approval").status == "running" and started is not None
    assert due_by(waiting, POLICY) == started + timedelta(seconds=600)
