"""The optional approval step: a run waits for a decision, or its deadline, before it may trade."""

from __future__ import annotations

from contracts import RunApprovalDecided, RunRecord, subjects
from services.coordinator.domain import apply_approval, apply_cancel, apply_timer, effects, resume_effects
from tests.unit.coordinator.helpers import NOW, POLICY, Scenario, at, drive, report, statuses, timer

WAIT = Scenario(request_extra={"require_approval": True, "approval_timeout_seconds": 600.0})


def _decision(approved: bool, by: str = "advisor@firm", reason: str = "") -> RunApprovalDecided:
    return RunApprovalDecided(
        run_id="run-1", message_id="run-1:approval", occurred_at=NOW, approved=approved, by=by, reason=reason
    )


def _waiting() -> RunRecord:
    states = drive(WAIT, stop_before="approval")
    return states[-1]


def test_a_run_that_requires_approval_waits_with_a_deadline() -> None:
    record = _waiting()
    assert record.status == "running" and record.current_step == "approval"
    assert statuses(record)["approval"] == "running" and statuses(record)["execute-trades"] == "pending"
    out = effects(drive(WAIT, stop_before="approval")[-2], record, at(100), POLICY)
    [deadline] = [t for t in out.timers if t.message.step == "approval"]
    assert deadline.message.kind == "deadline"
    started = record.step("approval").started_at
    assert started is not None and (deadline.at - started).total_seconds() == 600.0
    assert not [m for m in out.messages if m.subject == subjects.EXECUTION_EXECUTE]


def test_without_approval_the_step_is_skipped() -> None:
    record = drive(Scenario(), stop_before="execute-trades")[-1]
    assert statuses(record)["approval"] == "skipped"


def test_approval_goes_on_to_execute() -> None:
    after = apply_approval(_waiting(), _decision(True, reason="looks right"), at(200))
    assert after is not None
    assert statuses(after)["approval"] == "completed" and statuses(after)["execute-trades"] == "running"
    assert after.approval == "approved by advisor@firm: looks right"
    assert apply_approval(after, _decision(True), at(201)) is None  # a second decision changes nothing


def test_rejection_reports_without_trading() -> None:
    after = apply_approval(_waiting(), _decision(False, reason="client on holiday"), at(200))
    assert after is not None
    assert statuses(after)["execute-trades"] == "skipped" and statuses(after)["update-portfolio"] == "skipped"
    assert statuses(after)["generate-report"] == "running"
    reported = report(after, at(201))
    assert reported is not None and reported.status == "completed" and reported.report is not None
    assert reported.report.execution.executed is False
    assert "rejected by advisor@firm: client on holiday" in after.decision


def test_an_approval_that_expires_reports_without_trading() -> None:
    record = _waiting()
    after = apply_timer(record, timer(record, "approval", "deadline", 1), at(700), POLICY)
    assert after is not None
    assert statuses(after)["approval"] == "failed" and "expired" in (after.step("approval").error or "")
    assert statuses(after)["execute-trades"] == "skipped" and statuses(after)["generate-report"] == "running"
    assert apply_approval(after, _decision(True), at(701)) is None  # too late


def test_a_run_waiting_for_approval_can_be_cancelled() -> None:
    after = apply_cancel(_waiting(), at(50), "client call")
    assert after is not None and after.status == "cancelled"


def test_a_restarted_coordinator_keeps_the_original_deadline() -> None:
    record = _waiting()
    [deadline] = [t for t in resume_effects(record, at(500), POLICY).timers if t.message.step == "approval"]
    started = record.step("approval").started_at
    assert started is not None and (deadline.at - started).total_seconds() == 600.0
