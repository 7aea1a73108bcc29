"""HTTP request models (pydantic, for validation and OpenAPI). Field names follow the original workflow."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from contracts import RebalanceRequest

__all__ = [
    "MAX_EXCLUDED_SYMBOLS",
    "MAX_REALIZED_ROWS",
    "ApprovalBody",
    "MarketDate",
    "RealizedRequest",
    "RebalanceRequestBody",
    "RunOptionsBody",
    "ScheduleBody",
]

MAX_EXCLUDED_SYMBOLS = 500
MAX_REALIZED_ROWS = 100_000
MAX_AMOUNT = Decimal("1000000000000")  # $1 trillion: more than any account; keeps every sum exact and finite
MAX_APPROVAL_SECONDS = 30 * 24 * 3600

MarketDate = Annotated[
    date,
    Field(ge=date(1900, 1, 1), le=date(2100, 12, 31), description="a market date (1900-01-01 .. 2100-12-31)"),
]
"""A date the market data could cover: far-off years are refused at the edge (422), not deep in a service."""

Symbol = Annotated[str, StringConstraints(min_length=1, max_length=16)]
Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, max_digits=20, decimal_places=6)]
Column = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_ ]{1,64}$")]
Cell = (
    Annotated[str, StringConstraints(max_length=256)]
    | Annotated[int, Field(ge=-(10**15), le=10**15)]
    | Annotated[float, Field(allow_inf_nan=False)]
)
Row = Annotated[dict[Column, Cell], Field(max_length=32)]


class RunOptionsBody(BaseModel):
    """Every option of a run but the account (a batch gives them to each of its accounts)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    forceRebalance: bool = False
    maxTradeAmount: Amount | None = Field(None, description="largest value of any one trade, dollars")
    excludeSymbols: list[Symbol] = Field(
        default_factory=list, max_length=MAX_EXCLUDED_SYMBOLS, description="symbols never traded in this run"
    )
    dryRun: bool = False
    taxOptimization: bool = True
    riskOverride: Literal["conservative", "moderate", "aggressive"] | None = None
    mode: Literal["full", "threshold", "buy-only", "sell-only", "harvest", "harvest-reinvest"] = "full"
    asOf: MarketDate | None = Field(None, description="the run's market date (default: the deployment's)")
    withdrawAmount: Amount | None = Field(None, description="cash to raise, with mode sell-only")
    requireApproval: bool = Field(False, description="wait at the approval step for POST .../approve or .../reject")
    approvalTimeoutSeconds: float | None = Field(
        None, gt=0, le=MAX_APPROVAL_SECONDS, description="the approval's deadline (default 1 hour, at most 30 days)"
    )

    @field_validator("excludeSymbols")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip().upper() for s in value]
        if any(not s or not s.replace(".", "").isalnum() for s in cleaned):
            raise ValueError("symbols must be non-empty letters and digits")
        return cleaned

    def to_request(self, account_id: str, default_as_of: date | None, tenant: str = "default") -> RebalanceRequest:
        """The bus form of these options for ``account_id`` (``asOf`` defaults to the deployment's), started
        by ``tenant`` (the caller's API key's)."""
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
            tenant=tenant,
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

    transactions: list[Row] = Field(min_length=1, max_length=MAX_REALIZED_ROWS)
    method: Literal["fifo", "lifo", "hifo", "min-tax"] = "fifo"
    filingStatus: Literal["single", "mfj", "mfs", "hoh"] = "single"
