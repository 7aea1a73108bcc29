"""HTTP request models (pydantic, for validation and OpenAPI). Field names follow the original workflow."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts import RebalanceRequest

__all__ = ["ApprovalBody", "RealizedRequest", "RebalanceRequestBody", "RunOptionsBody", "ScheduleBody"]


class RunOptionsBody(BaseModel):
    """Every option of a run but the account (a batch gives them to each of its accounts)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    forceRebalance: bool = False
    maxTradeAmount: Decimal | None = Field(None, gt=0, description="largest value of any one trade, dollars")
    excludeSymbols: list[str] = Field(default_factory=list, description="symbols never traded in this run")
    dryRun: bool = False
    taxOptimization: bool = True
    riskOverride: Literal["conservative", "moderate", "aggressive"] | None = None
    mode: Literal["full", "threshold", "buy-only", "sell-only", "harvest", "harvest-reinvest"] = "full"
    asOf: date | None = Field(None, description="the run's market date (default: the deployment's)")
    withdrawAmount: Decimal | None = Field(None, gt=0, description="cash to raise, with mode sell-only")
    requireApproval: bool = Field(False, description="wait at the approval step for POST .../approve or .../reject")
    approvalTimeoutSeconds: float | None = Field(None, gt=0, description="the approval's deadline (default 1 hour)")

    @field_validator("excludeSymbols")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip().upper() for s in value]
        if any(not s or not s.replace(".", "").isalnum() for s in cleaned):
            raise ValueError("symbols must be non-empty letters and digits")
        return cleaned

    def to_request(self, account_id: str, default_as_of: date | None) -> RebalanceRequest:
        """The bus form of these options for ``account_id`` (``asOf`` defaults to the deployment's)."""
        return RebalanceRequest(
            account_id=account_id,
            force_rebalance=self.forceRebalance,
            max_trade_amount=self.maxTradeAmount,
            exclude_symbols=self.excludeSymbols,
            dry_run=self.dryRun,
            tax_optimization=self.taxOptimization,
            risk_override=self.riskOverride,
            mode=self.mode,
            as_of=self.asOf or default_as_of,
            withdraw_amount=self.withdrawAmount,
            require_approval=self.requireApproval,
            approval_timeout_seconds=self.approvalTimeoutSeconds,
        )


class RebalanceRequestBody(RunOptionsBody):
    """The original workflow's request schema, plus the run options added since."""

    accountId: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")


class ScheduleBody(BaseModel):
    """A cron schedule of runs: ``cron`` has six fields with seconds (``0 30 21 * * 1-5``: 21:30 UTC on
    weekdays) or is ``@every 1h``, ``@daily``...; ``request`` is the run to start at each tick."""

    model_config = ConfigDict(extra="forbid")

    cron: str = Field(min_length=1, max_length=200)
    request: RebalanceRequestBody
    createdBy: str = Field("", max_length=200)


class ApprovalBody(BaseModel):
    """Who decides, and why (recorded in the run and its report)."""

    model_config = ConfigDict(extra="forbid")

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field("", max_length=2000)


class RealizedRequest(BaseModel):
    """Transactions for the realized-gains calculator (the CLI's CSV columns, as JSON)."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[dict[str, str | int | float]] = Field(min_length=1)
    method: Literal["fifo", "lifo", "hifo", "min-tax"] = "fifo"
    filingStatus: Literal["single", "mfj", "mfs", "hoh"] = "single"
