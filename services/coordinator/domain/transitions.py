"""Run state transitions: each a pure function of (state, event, now).

The coordinator's handler reads the run from KV, applies one of these, and writes the result with
compare-and-set; a function returns ``None`` when the event changes nothing (a duplicate, a stale
attempt, a late timer), which is what makes every delivery idempotent.

The record keeps state and references only: a step's output is stored by the handler under
``<run_id>.<step>`` (:data:`STORED_OUTPUTS`), and the record notes that it is there and the few facts
the saga decides on (taxable, the snapshot, whether the plan has trades, whether trades executed).
``generate-report`` waits for the handler, which reads the outputs and applies :func:`apply_report`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from contracts import (
    STEP_NAMES,
    FillsApplied,
    MarketAnalyzed,
    MarketDataFetched,
    MarketDataFetchedV2,
    Notified,
    PlanReviewed,
    PortfolioLoaded,
    RebalancePlanned,
    RebalanceRequested,
    Report,
    RunApprovalDecided,
    RunRecord,
    StepFailed,
    StepRecord,
    StepTimerFired,
    TaxContextBuilt,
    TradesExecuted,
)
from services.coordinator.domain.decisions import should_rebalance
from services.coordinator.domain.steps import COORDINATOR_STEPS, PIVOT, RetryPolicy, index_of

__all__ = [
    "apply_approval",
    "apply_cancel",
    "apply_failure",
    "apply_report",
    "apply_result",
    "apply_timer",
    "refuse_busy",
    "start_run",
]

StepResult = (
    PortfolioLoaded
    | MarketDataFetched
    | MarketDataFetchedV2
    | MarketAnalyzed
    | TaxContextBuilt
    | RebalancePlanned
    | PlanReviewed
    | TradesExecuted
    | FillsApplied
    | Notified
)
TERMINAL = ("completed", "failed", "cancelled")
STORED_OUTPUTS = frozenset(
    {
        "load-portfolio",
        "analyze-market-conditions",
        "tax-context",
        "calculate-rebalancing",
        "tax-optimization",
        "execute-trades",
        "update-portfolio",
    }
)
"""Steps whose output later steps or the report read: stored once under ``<run_id>.<step>`` (KV ``steps``).
The market data step's output is the snapshot; ``update-portfolio``'s holds what the run's sales realized
(the report's tax section); ``send-notifications``' result is a fact in the record."""


def start_run(event: RebalanceRequested, now: datetime) -> RunRecord:
    """A new run from its request, with its first step under way."""
    record = RunRecord(
        run_id=event.run_id,
        status="running",
        request=event.request,
        created_at=now,
        updated_at=now,
        steps=[StepRecord(name=name) for name in STEP_NAMES],
        source=event.source,
        as_of=event.request.as_of,
    )
    return _begin(record, "load-portfolio", now)


def refuse_busy(record: RunRecord, holder: str, now: datetime) -> RunRecord:
    """A run that would trade an account another unfinished run is trading: it fails before it starts."""
    error = (
        f"account {record.request.account_id} is busy: run {holder} is trading it; "
        "start this run again when that one has finished"
    )
    record = _set_step(record, "load-portfolio", status="failed", finished_at=now, error=error)
    record = msgspec.structs.replace(
        record, status="failed", failed_step="load-portfolio", error=f"load-portfolio: {error}", updated_at=now
    )
    return _begin_failure_notification(record, now)


# ---- helpers ---------------------------------------------------------------------------------------
def _set_step(record: RunRecord, name: str, **changes: Any) -> RunRecord:
    steps = [msgspec.structs.replace(s, **changes) if s.name == name else s for s in record.steps]
    return msgspec.structs.replace(record, steps=steps)


def _duration_ms(step: StepRecord, now: datetime) -> float | None:
    return round((now - step.started_at).total_seconds() * 1000, 3) if step.started_at else None


def _begin(record: RunRecord, name: str, now: datetime, attempt: int = 1) -> RunRecord:
    """Start step ``name``; coordinator steps are done at once, and the run moves on."""
    step = record.step(name)
    record = _set_step(
        record,
        name,
        status="running",
        attempts=attempt,
        started_at=step.started_at if attempt > 1 and step.started_at else now,
        finished_at=None,
        error=None if attempt == 1 else step.error,
    )
    record = msgspec.structs.replace(record, current_step=name, updated_at=now)
    if name in COORDINATOR_STEPS:
        return _run_inline(record, name, now)
    return record


def _complete(record: RunRecord, name: str, now: datetime, detail: str = "") -> RunRecord:
    step = record.step(name)
    return _set_step(
        record, name, status="completed", finished_at=now, duration_ms=_duration_ms(step, now), detail=detail
    )


def _skip(record: RunRecord, name: str, now: datetime, why: str) -> RunRecord:
    return _set_step(record, name, status="skipped", finished_at=now, detail=why)


def _next_step(record: RunRecord, done: str, now: datetime) -> RunRecord:
    """Advance past ``done``: skip what the rules say to skip, begin the next step."""
    request = record.request
    taxable = bool(record.taxable)
    for name in STEP_NAMES[index_of(done) + 1 :]:
        if name == "tax-optimization" and not (taxable and request.tax_optimization):
            why = "account is not taxable" if not taxable else "taxOptimization is off"
            record = _skip(record, name, now, why)
            continue
        if name in ("approval", "execute-trades", "update-portfolio") and not record.should_rebalance:
            record = _skip(record, name, now, record.decision or "not rebalancing")
            continue
        if name == "approval" and not request.require_approval:
            record = _skip(record, name, now, "no approval required for this run")
            continue
        if name == "update-portfolio" and not record.executed:
            why = "dry run: nothing to apply" if request.dry_run else "no trade was executed"
            record = _skip(record, name, now, why)
            continue
        return _begin(record, name, now)
    return msgspec.structs.replace(record, current_step=None, updated_at=now)


def _run_inline(record: RunRecord, name: str, now: datetime) -> RunRecord:
    if name in ("approval", "generate-report"):  # waits: a decision or its deadline; the handler's report
        return record
    if name == "should-rebalance":
        decision, reason = should_rebalance(record)
        record = msgspec.structs.replace(record, should_rebalance=decision, decision=reason)
        record = _complete(record, name, now, detail=reason)
        return _next_step(record, name, now)
    record = _complete(record, name, now)
    return _next_step(record, name, now)


def _accepts(record: RunRecord, step: str, attempt: int, *, result: bool) -> bool:
    """Whether a result or failure for (step, attempt) is the one the run is waiting for.

    A late result of an attempt that timed out is still welcome while the step waits to retry; a
    failure is taken once only (a second copy of it finds the step no longer running)."""
    if step not in STEP_NAMES:
        return False
    current = record.step(step)
    if current.status not in (("running", "retrying") if result else ("running",)):
        return False
    if step == "send-notifications":
        return True
    return record.status == "running" and current.attempts == attempt


def _absorb(record: RunRecord, event: StepResult) -> RunRecord:
    """Note that a step's output is stored, and keep the facts the saga decides on."""
    replace = msgspec.structs.replace
    if event.step in STORED_OUTPUTS and event.step not in record.outputs:
        record = replace(record, outputs=[*record.outputs, event.step])
    if isinstance(event, PortfolioLoaded):
        return replace(record, taxable=event.account.taxable)
    if isinstance(event, MarketDataFetchedV2):
        return replace(record, snapshot_id=event.snapshot_id, as_of=event.as_of)
    if isinstance(event, MarketDataFetched):  # a version-1 answer: no snapshot, later steps cannot run
        return replace(record, market_warnings=event.warnings, as_of=event.as_of)
    if isinstance(event, MarketAnalyzed):
        return replace(record, conditions=event.conditions)
    if isinstance(event, RebalancePlanned):
        return replace(record, needs_rebalancing=event.plan.needs_rebalancing, planned_trades=len(event.plan.trades))
    if isinstance(event, TradesExecuted):
        return replace(record, executed=event.result.executed)
    if isinstance(event, Notified):
        return replace(record, notifications=[*event.channels, *(f"error: {e}" for e in event.errors)])
    return record


def apply_report(record: RunRecord, report: Report, now: datetime) -> RunRecord | None:
    """The handler built the report from the stored outputs: the run is completed. The market conditions
    the saga decided on are kept once, in the report (``analysis.marketConditions``)."""
    if record.status != "running" or record.step("generate-report").status != "running":
        return None
    record = msgspec.structs.replace(record, report=report, status="completed", conditions=None)
    record = _complete(record, "generate-report", now)
    return _next_step(record, "generate-report", now)


# ---- transitions -----------------------------------------------------------------------------------
def apply_result(record: RunRecord, event: StepResult, now: datetime) -> RunRecord | None:
    """A service finished a step."""
    if not _accepts(record, event.step, event.attempt, result=True):
        return None
    record = _absorb(record, event)
    if event.step == "send-notifications":
        record = _complete(record, event.step, now, detail=", ".join(record.notifications))
        return msgspec.structs.replace(record, current_step=None, updated_at=now)
    record = _complete(record, event.step, now)
    return _next_step(record, event.step, now)


def apply_failure(record: RunRecord, failed: StepFailed, now: datetime, policy: RetryPolicy) -> RunRecord | None:
    """A service could not do a step: retry it later, or fail the run (before the pivot)."""
    if not _accepts(record, failed.step, failed.attempt, result=False):
        return None
    refused = failed.step == PIVOT and not failed.retryable and failed.error_type == TRADING_REFUSED
    return _fail_attempt(
        record, failed.step, failed.attempt, failed.error, failed.retryable, now, policy, nothing_sent=refused
    )


TRADING_REFUSED = "TradingRefusedError"
"""The execution service refused a run before sending any order (a reconciliation break, the market
closed): the pivot was not passed, so the run fails cleanly instead of retrying."""


def apply_timer(record: RunRecord, timer: StepTimerFired, now: datetime, policy: RetryPolicy) -> RunRecord | None:
    """A step's deadline passed (a timeout), or its retry time came."""
    if timer.step not in STEP_NAMES:
        return None
    if record.status != "running" and timer.step != "send-notifications":  # notifications outlive the run
        return None
    step = record.step(timer.step)
    if timer.step == "approval":
        return _expire_approval(record, timer, now, policy)
    if timer.kind == "retry":
        if step.status != "retrying" or step.attempts != timer.attempt - 1:
            return None
        return _begin(record, timer.step, now, attempt=timer.attempt)
    if step.status != "running" or step.attempts != timer.attempt:
        return None
    error = f"timed out after {policy.step_timeout(record, timer.step):g}s (attempt {timer.attempt})"
    return _fail_attempt(record, timer.step, timer.attempt, error, True, now, policy)


def apply_approval(record: RunRecord, decision: RunApprovalDecided, now: datetime) -> RunRecord | None:
    """A person approved or rejected a run waiting at its approval step; a rejected run reports
    without trading."""
    if record.status != "running" or record.step("approval").status != "running":
        return None
    why = f": {decision.reason}" if decision.reason else ""
    if decision.approved:
        text = f"approved by {decision.by}{why}"
        record = msgspec.structs.replace(record, approval=text)
    else:
        text = f"rejected by {decision.by}{why}"
        record = msgspec.structs.replace(
            record, approval=text, should_rebalance=False, decision=f"not rebalancing: {text}"
        )
    record = _complete(record, "approval", now, detail=text)
    return _next_step(record, "approval", now)


def _expire_approval(record: RunRecord, timer: StepTimerFired, now: datetime, policy: RetryPolicy) -> RunRecord | None:
    step = record.step("approval")
    if record.status != "running" or step.status != "running" or timer.kind != "deadline":
        return None
    timeout = record.request.approval_timeout_seconds or policy.approval_timeout_seconds
    text = f"approval expired after {timeout:g}s without a decision"
    record = msgspec.structs.replace(record, approval=text, should_rebalance=False, decision=f"not rebalancing: {text}")
    record = _set_step(
        record, "approval", status="failed", finished_at=now, duration_ms=_duration_ms(step, now), error=text
    )
    return _next_step(record, "approval", now)


def _fail_attempt(
    record: RunRecord,
    name: str,
    attempt: int,
    error: str,
    retryable: bool,
    now: datetime,
    policy: RetryPolicy,
    *,
    nothing_sent: bool = False,
) -> RunRecord:
    if name == "send-notifications":  # in the background: its failure never fails the run
        record = _set_step(record, name, status="failed", finished_at=now, error=error)
        return msgspec.structs.replace(record, current_step=None, updated_at=now)
    past_pivot = index_of(name) >= index_of(PIVOT) and not nothing_sent
    if (retryable and policy.may_retry(name, attempt)) or past_pivot:
        record = _set_step(record, name, status="retrying", error=error)
        return msgspec.structs.replace(record, updated_at=now)
    step = record.step(name)
    record = _set_step(record, name, status="failed", finished_at=now, duration_ms=_duration_ms(step, now), error=error)
    record = msgspec.structs.replace(
        record, status="failed", failed_step=name, error=f"{name}: {error}", updated_at=now
    )
    return _begin_failure_notification(record, now)


def _begin_failure_notification(record: RunRecord, now: datetime) -> RunRecord:
    for name in STEP_NAMES:
        if record.step(name).status == "pending" and name != "send-notifications":
            record = _skip(record, name, now, "run failed")
    return _set_step(record, "send-notifications", status="running", attempts=1, started_at=now)


def apply_cancel(record: RunRecord, now: datetime, reason: str) -> RunRecord | None:
    """Cancel a run that has not reached the pivot; a run past it cannot be cancelled."""
    if record.status in TERMINAL:
        return None
    if record.step(PIVOT).status not in ("pending",) or (
        record.current_step and index_of(record.current_step) >= index_of(PIVOT)
    ):
        return None
    for step in record.steps:
        if step.status in ("pending", "running", "retrying"):
            record = _skip(record, step.name, now, f"cancelled: {reason}" if reason else "cancelled")
    return msgspec.structs.replace(
        record,
        status="cancelled",
        current_step=None,
        error=f"cancelled: {reason}" if reason else "cancelled",
        updated_at=now,
    )
