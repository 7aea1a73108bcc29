"""The answers of the book API (:mod:`services.gateway.routes_accounts`) as OpenAPI response models: camelCase,
amounts as decimal strings. Documentation only: the routes answer the portfolio service's documents as they are."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "AccountView",
    "BookError",
    "HouseholdView",
    "LoadView",
    "ModelView",
    "RemovedView",
    "TransactionView",
]


class LotView(BaseModel):
    lotId: str
    symbol: str
    shares: str = Field(description="decimal string")
    costBasis: str = Field(description="the lot's total cost (before wash-sale adjustments), decimal string")
    acquired: str = Field(description="ISO date")
    holdingPeriodStart: str | None = None


class AccountView(BaseModel):
    """An account as an object of the household file plus ``householdId`` and ``tenant`` (header ``ETag``)."""

    accountId: str
    householdId: str
    tenant: str
    name: str
    accountType: Literal["taxable", "traditional_ira", "roth_ira"]
    riskTolerance: str
    model: str | None = Field(default=None, description="a built-in or stored model (absent with a target)")
    target: dict[str, str] | None = Field(default=None, description="the account's own asset-class targets")
    rebalanceThreshold: str
    cash: str
    cashReserve: str
    fractional: bool
    lotMethod: str
    reinvestDividends: bool
    lastRebalanced: str | None
    lots: list[LotView]
    rebalanceTo: str
    minTrade: str
    bandRelative: str | None
    turnoverCap: str | None
    maxRealizedGain: str | None
    maxEstimatedTax: str | None
    restrictedSymbols: list[str]
    brokerAccount: str


class HouseholdView(BaseModel):
    householdId: str
    tenant: str
    taxProfile: dict[str, Any] = Field(
        description="filingStatus, taxableIncome, magi, stateRate, federalShortTermRate, federalLongTermRate"
    )
    accountIds: list[str]


class ModelSecurityView(BaseModel):
    symbol: str
    percent: str = Field(description="percent of the account, decimal string")
    substitutes: list[str]


class ModelView(BaseModel):
    name: str
    tenant: str = Field(description="empty for a built-in model")
    targets: dict[str, str] = Field(description="asset class to percent")
    securities: list[ModelSecurityView]


class RemovedView(BaseModel):
    success: bool
    removed: str
    id: str


class TransactionView(BaseModel):
    success: bool
    accountId: str
    clientTransactionId: str
    type: Literal["buy", "sell", "deposit", "withdrawal"]
    cashAfter: str
    revision: int
    alreadyRecorded: bool
    lots: list[str] = Field(description="the lot opened (buy) or the lots relieved (sell)")
    realizedGain: str | None


class ProblemView(BaseModel):
    path: str
    message: str


class ChangeView(BaseModel):
    kind: Literal["account", "household", "model"]
    id: str
    change: Literal["added", "removed", "changed", "unchanged"]
    householdId: str
    fields: list[str]


class LoadView(BaseModel):
    success: bool
    mode: Literal["replace", "merge"]
    dryRun: bool
    requestId: str
    outcome: str = Field(description="applied or preview")
    changes: list[ChangeView]
    revisions: dict[str, int]
    alreadyApplied: bool
    problems: list[ProblemView]
    stale: list[dict[str, Any]]


class BookError(BaseModel):
    success: Literal[False]
    error: str
    problems: list[ProblemView] | None = Field(default=None, description="422: each field with its path")
