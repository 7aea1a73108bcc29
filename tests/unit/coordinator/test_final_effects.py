"""A finished run's final effects, derived from its state alone: what a coordinator publishes again
when it is not known whether the finishing transition's effects went out."""

from __future__ import annotations

from services.coordinator.domain import apply_failure, effects, final_effects
from tests.unit.coordinator.helpers import POLICY, RUN, Scenario, at, drive, failure


def test_a_completed_run_publishes_its_report_completion_and_notification_again() -> None:
    states = drive(Scenario(), stop_before="send-notifications")
    completed = states[-1]
    assert completed.status == "completed"
    first = effects(states[-2], completed, at(50), POLICY)
    again = final_effects(completed, at(900), POLICY)
    assert sorted((m.subject, m.msg_id) for m in again.messages) == sorted(
        (m.subject, m.msg_id) for m in first.messages
    )
    assert sorted(m.subject for m in again.messages) == [
        "notifications.v1.cmd.notify",
        "report.v1.generated",
        "run.v1.completed",
    ]
    assert {m.msg_id for m in again.messages} >= {f"{RUN}:report", f"{RUN}:completed"}


def test_a_failed_run_publishes_its_failure_and_notification_again() -> None:
    record = drive(Scenario(), stop_before="tax-context")[-1]
    failed = apply_failure(record, failure(record, "tax-context", retryable=False), at(10), POLICY)
    assert failed is not None and failed.status == "failed"
    first = effects(record, failed, at(10), POLICY)
    again = final_effects(failed, at(700), POLICY)
    assert sorted(m.msg_id for m in again.messages) == sorted(m.msg_id for m in first.messages)
    assert "run.v1.failed" in {m.subject for m in again.messages}


def test_a_notified_run_publishes_only_its_public_events_again() -> None:
    final = drive(Scenario())[-1]
    again = final_effects(final, at(999), POLICY)
    assert sorted(m.subject for m in again.messages) == ["report.v1.generated", "run.v1.completed"]
    assert again.timers == []
