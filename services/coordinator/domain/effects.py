"""What to publish after a transition, derived from the state before and after it.

Everything here is derived from state, so a restarted coordinator publishes the same messages again
for unfinished runs (:func:`resume_effects`) and the public events of finished runs whose publication
is not known to have happened (:func:`final_effects`); their deterministic ``Nats-Msg-Id`` lets JetStream drop
the copies it already has, and every handler is idempotent on (run_id, step) for the rest.

A run has at most one pending timer (its current step's deadline or retry time), kept on one subject per
run: each new timer replaces the last, so a finished step's deadline never fires, and when no step is
left running the effects say to clear it (``clear_timer``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from contracts import (
    MAX_APPROVAL_TIMEOUT_SECONDS,
    ReportGenerated,
    RunCompleted,
    RunFailed,
    RunRecord,
    StepRecord,
    StepTimerFired,
    subjects,
)
from services.coordinator.domain.commands import build_command
from services.coordinator.domain.steps import SERVICE_STEPS, RetryPolicy
from shared.bus.outgoing import Outgoing

__all__ = ["Effects", "ScheduledTimer", "due_by", "effects", "final_effects", "resume_effects"]


class ScheduledTimer:
    """A timer message to schedule at ``at`` (the server publishes it to the fire subject then)."""

    __slots__ = ("at", "message")

    def __init__(self, at: datetime, message: StepTimerFired) -> None:
        self.at = at
        self.message = message

    def __repr__(self) -> str:
        return f"ScheduledTimer({self.message.step}#{self.message.attempt} {self.message.kind} at {self.at})"


class Effects:
    __slots__ = ("clear_timer", "messages", "report_due", "run_id", "timers")

    def __init__(self, run_id: str = "") -> None:
        self.run_id = run_id
        self.messages: list[Outgoing] = []
        self.timers: list[ScheduledTimer] = []
        self.report_due = False
        """``generate-report`` is running: the handler reads the step outputs and builds the report."""
        self.clear_timer = False
        """No step is left running: the run's pending timer is to be removed."""


def _active(record: RunRecord) -> bool:
    return any(step.status in ("running", "retrying") for step in record.steps)


def _later(start: datetime, seconds: float) -> datetime:
    """``start`` plus ``seconds``, bounded: a number from outside never overflows the calendar (the
    contract already refuses approval timeouts over 30 days; this holds whatever reaches here)."""
    if not math.isfinite(seconds) or seconds <= 0:
        return start
    return start + timedelta(seconds=min(seconds, MAX_APPROVAL_TIMEOUT_SECONDS))


def _step_changed(before: StepRecord | None, after: StepRecord) -> bool:
    return before is None or before.status != after.status or before.attempts != after.attempts


def _timer(record: RunRecord, step: StepRecord, kind: str, attempt: int, at: datetime, now: datetime) -> ScheduledTimer:
    message = StepTimerFired(
        run_id=record.run_id,
        message_id=f"{record.run_id}:{step.name}:{attempt}:{kind}",
        occurred_at=now,
        step=step.name,
        attempt=attempt,
        kind=kind,  # type: ignore[arg-type]
    )
    return ScheduledTimer(at, message)


def _step_effects(record: RunRecord, step: StepRecord, now: datetime, policy: RetryPolicy, out: Effects) -> None:
    if step.name == "approval" and step.status == "running":  # the decision's deadline, from the wait's start
        timeout = record.request.approval_timeout_seconds or policy.approval_timeout_seconds
        deadline = _later(step.started_at or now, timeout)
        out.timers.append(_timer(record, step, "deadline", step.attempts, deadline, now))
        return
    if step.name == "generate-report" and step.status == "running":
        out.report_due = True
        return
    if step.name not in SERVICE_STEPS:
        return
    _, subject = SERVICE_STEPS[step.name]
    if step.status == "running":
        command = build_command(record, step.name, step.attempts, now, block=policy.in_block(record))
        out.messages.append(Outgoing(subject, command, command.message_id))
        deadline = now + timedelta(seconds=policy.step_timeout(record, step.name))
        out.timers.append(_timer(record, step, "deadline", step.attempts, deadline, now))
    elif step.status == "retrying":
        at = now + timedelta(seconds=policy.delay_after(step.attempts))
        out.timers.append(_timer(record, step, "retry", step.attempts + 1, at, now))


def _public_effects(before: RunRecord | None, after: RunRecord, now: datetime, out: Effects) -> None:
    was = before.status if before else None
    run_id = after.run_id
    account_id = after.request.account_id
    if after.status == "completed" and was != "completed" and after.report is not None:
        report = after.report
        out.messages.append(
            Outgoing(
                subjects.REPORT_GENERATED,
                ReportGenerated(
                    run_id=run_id,
                    message_id=f"{run_id}:report",
                    occurred_at=now,
                    step="generate-report",
                    account_id=account_id,
                    report=report,
                ),
                f"{run_id}:report",
            )
        )
        out.messages.append(
            Outgoing(
                subjects.RUN_COMPLETED,
                RunCompleted(
                    run_id=run_id,
                    message_id=f"{run_id}:completed",
                    occurred_at=now,
                    account_id=account_id,
                    executed=report.execution.executed,
                    trades=len(report.execution.trades),
                ),
                f"{run_id}:completed",
            )
        )
    if after.status == "failed" and was != "failed":
        out.messages.append(
            Outgoing(
                subjects.RUN_FAILED,
                RunFailed(
                    run_id=run_id,
                    message_id=f"{run_id}:failed",
                    occurred_at=now,
                    account_id=account_id,
                    step=after.failed_step or "",
                    failed_step=after.failed_step or "",
                    error=after.error or "",
                ),
                f"{run_id}:failed",
            )
        )


def effects(before: RunRecord | None, after: RunRecord, now: datetime, policy: RetryPolicy) -> Effects:
    """Messages and timers that the transition from ``before`` to ``after`` calls for."""
    out = Effects(after.run_id)
    for step in after.steps:
        previous = before.step(step.name) if before else None
        if _step_changed(previous, step):
            _step_effects(after, step, now, policy, out)
    _public_effects(before, after, now, out)
    out.clear_timer = not _active(after) and (before is None or _active(before))
    return out


def resume_effects(record: RunRecord, now: datetime, policy: RetryPolicy) -> Effects:
    """Everything an unfinished run may still be waiting for, to publish again after a restart."""
    out = Effects(record.run_id)
    for step in record.steps:
        _step_effects(record, step, now, policy, out)
    out.clear_timer = not _active(record)
    return out


def final_effects(record: RunRecord, now: datetime, policy: RetryPolicy) -> Effects:
    """Everything a finished run publishes: its public events (``report.v1.generated`` and
    ``run.v1.completed``, or ``run.v1.failed``) and the notification it still waits for.

    Published again when a coordinator died (or the bus failed) between writing the finished state and
    publishing: the same message ids, so JetStream keeps one copy of each.
    """
    out = resume_effects(record, now, policy)
    _public_effects(None, record, now, out)
    return out


def due_by(record: RunRecord, policy: RetryPolicy) -> datetime | None:
    """The latest time something must have happened to an unfinished run if nothing was lost: its running
    step's deadline, its retry time, its approval's deadline, or (for ``generate-report``, built by the
    coordinator at once) its last change. ``None`` when no step waits.

    Every transition that starts a step schedules that step's timer no earlier than the run's
    ``updated_at``, so a run still unchanged well past this time lost its command and its timer together
    (a server that died before storing them): the coordinator's watchdog publishes them again."""
    if record.status != "running":
        return None
    due: datetime | None = None
    for step in record.steps:
        if step.status == "running":
            if step.name == "approval":
                timeout = record.request.approval_timeout_seconds or policy.approval_timeout_seconds
                at = _later(step.started_at or record.updated_at, timeout)
            elif step.name == "generate-report":
                at = record.updated_at
            else:  # a run waiting for its batch's block orders: its long deadline
                at = _later(record.updated_at, policy.step_timeout(record, step.name))
        elif step.status == "retrying":
            at = _later(record.updated_at, policy.delay_after(step.attempts))
        else:
            continue
        due = at if due is None else min(due, at)
    return due
