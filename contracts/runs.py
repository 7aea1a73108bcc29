"""The state of a run, as the coordinator keeps it in the KV bucket ``runs`` (key ``run.<run_id>``).

The coordinator alone writes it (compare-and-set on the revision); the gateway reads it. The record is
lean: the saga's state, the decisions it takes and references. Each step's output is stored once, in the
KV bucket ``steps`` under :func:`step_key` (``<run_id>.<step>``), and the market data once per snapshot
(``snapshot_id``, see :mod:`contracts.snapshot`); the report, the run's final output, is kept here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final, Literal

import msgspec

from contracts.report import Report
from contracts.values import (
    AccountSnapshot,
    ExecutionResult,
    MarketConditions,
    PortfolioRisk,
    Quote,
    RebalancePlan,
    RebalanceRequest,
    TaxContext,
    TaxReview,
    Transaction,
    Value,
)

__all__ = [
    "STEP_NAMES",
    "RunRecord",
    "RunStatus",
    "StepRecord",
    "StepStatus",
    "account_lock_key",
    "run_key",
    "step_key",
]

RunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
StepStatus = Literal["pending", "running", "retrying", "completed", "failed", "skipped"]

STEP_NAMES: Final = (
    "load-portfolio",
    "fetch-market-data",
    "analyze-market-conditions",
    "tax-context",
    "calculate-rebalancing",
    "tax-optimization",
    "should-rebalance",
    "approval",
    "execute-trades",
    "update-portfolio",
    "generate-report",
    "send-notifications",
)


def account_lock_key(account_id: str) -> str:
    """The key (bucket ``runs``) of the run that may trade ``account_id`` now: ``{"run_id": ...}``, written by the
    coordinator; the gateway reads it to refuse changing an account while a run is in progress."""
    return f"lock.{account_id}"


def run_key(run_id: str) -> str:
    return f"run.{run_id}"


def step_key(run_id: str, step: str) -> str:
    """The KV key (bucket ``steps``) of a step's output: ``<run_id>.<step>``."""
    return f"{run_id}.{step}"


class StepRecord(Value, frozen=True, kw_only=True, rename="camel"):
    name: str
    status: StepStatus = "pending"
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    error: str | None = None
    detail: str = ""


class RunRecord(Value, frozen=True, kw_only=True, rename="camel"):
    run_id: str
    status: RunStatus
    request: RebalanceRequest
    created_at: datetime
    updated_at: datetime
    steps: list[StepRecord]
    current_step: str | None = None
    error: str | None = None
    failed_step: str | None = None
    source: str = "bus"
    as_of: date | None = None
    # References and the few facts the saga decides on (the outputs themselves are in KV ``steps``).
    snapshot_id: str = ""
    """The market snapshot of the run (KV ``snapshots``), set by ``fetch-market-data``."""
    outputs: list[str] = msgspec.field(default_factory=list)
    """The steps whose output is stored under ``step_key(run_id, step)``."""
    taxable: bool | None = None
    needs_rebalancing: bool | None = None
    planned_trades: int | None = None
    """How many trades the plan has (``None`` before ``calculate-rebalancing``)."""
    executed: bool | None = None
    """Whether ``execute-trades`` really traded (``None`` before it)."""
    # Version 1 kept every step's result here; a lean record leaves these empty (``conditions``, the
    # ``should-rebalance`` input, and ``market_warnings`` for the report, stay).
    account: AccountSnapshot | None = None
    household_activity: list[Transaction] = msgspec.field(default_factory=list)
    quotes: dict[str, Quote] = msgspec.field(default_factory=dict)
    market_warnings: list[str] = msgspec.field(default_factory=list)
    conditions: MarketConditions | None = None
    risk: PortfolioRisk | None = None
    tax_context: TaxContext | None = None
    plan: RebalancePlan | None = None
    review: TaxReview | None = None
    should_rebalance: bool | None = None
    decision: str = ""
    execution: ExecutionResult | None = None
    report: Report | None = None
    notifications: list[str] = msgspec.field(default_factory=list)
    approval: str = ""
    """What happened at the approval step: who approved or rejected it and why, or that it expired."""
    chunk_id: str = ""
    """The chunk whose record holds this run's live state (a dry batch run travelling in bundles,
    :mod:`contracts.bundles`); this record is written when the run starts and when it ends."""

    def step(self, name: str) -> StepRecord:
        for record in self.steps:
            if record.name == name:
                return record
        raise KeyError(name)
