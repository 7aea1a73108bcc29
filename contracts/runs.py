"""The state of a run, as the coordinator keeps it in the KV bucket ``runs`` (key ``run.<run_id>``).

The coordinator alone writes it (compare-and-set on the revision); the gateway reads it.
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

__all__ = ["STEP_NAMES", "RunRecord", "RunStatus", "StepRecord", "StepStatus", "run_key"]

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


def run_key(run_id: str) -> str:
    return f"run.{run_id}"


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
    # Results of the steps, kept for the later steps and the report.
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

    def step(self, name: str) -> StepRecord:
        for record in self.steps:
            if record.name == name:
                return record
        raise KeyError(name)
