"""Commands and events of a run, one struct per message version.

Each struct is tagged with its schema (``"schema": "<name>.v<major>"``); :data:`Message` is the tagged
union a consumer decodes with :func:`contracts.codec.decode`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import msgspec

from contracts.batches import BatchRequested
from contracts.bundles import CommandBundle, ResultBundle
from contracts.envelope import Command, Envelope, Event
from contracts.report import Report
from contracts.values import (
    AccountSnapshot,
    ExecutionResult,
    Fill,
    MarketConditions,
    PlanOptions,
    PortfolioRisk,
    Quote,
    RealizedSales,
    RebalancePlan,
    RebalanceRequest,
    RiskTolerance,
    TaxContext,
    TaxReview,
    Trade,
    Transaction,
)

__all__ = [
    "AnalyzeMarket",
    "AnalyzeMarketV2",
    "ApplyFills",
    "ApplyFillsV2",
    "BuildTaxContext",
    "BuildTaxContextV2",
    "ExecuteTrades",
    "ExecuteTradesV2",
    "FetchMarketData",
    "FillsApplied",
    "LoadPortfolio",
    "MarketAnalyzed",
    "MarketDataFetched",
    "MarketDataFetchedV2",
    "Message",
    "Notified",
    "Notify",
    "PlanRebalance",
    "PlanRebalanceV2",
    "PlanReviewed",
    "PortfolioLoaded",
    "RebalancePlanned",
    "RebalanceRequested",
    "ReportGenerated",
    "ReviewPlan",
    "ReviewPlanV2",
    "RunApprovalDecided",
    "RunCancelRequested",
    "RunCompleted",
    "RunFailed",
    "ScheduledRun",
    "StepFailed",
    "StepTimerFired",
    "TaxContextBuilt",
    "TradeExecuted",
    "TradeRejected",
    "TradesExecuted",
]


# --- public ----------------------------------------------------------------------------------------
class RebalanceRequested(Envelope, frozen=True, kw_only=True, tag="rebalance.requested.v1"):
    """Starts a run (``rebalance.v1.requested``). Anyone may publish it; ``run_id`` names the run."""

    request: RebalanceRequest
    source: str = "bus"


class RunCancelRequested(Envelope, frozen=True, kw_only=True, tag="run.cancel.v1"):
    reason: str = ""


class ScheduledRun(Envelope, frozen=True, kw_only=True, tag="run.scheduled.v1"):
    """A cron schedule: kept in the TIMERS stream at ``run.v1.timer.schedule.cron.<name>``; the server
    publishes it to ``run.v1.timer.fire.cron.<name>`` at each tick, and the coordinator starts one run
    per tick from ``request``."""

    name: str
    cron: str
    request: RebalanceRequest
    created_by: str = ""


class RunApprovalDecided(Envelope, frozen=True, kw_only=True, tag="run.approval.v1"):
    """A person's (or a system's) decision on a run waiting at its ``approval`` step (``run.v1.approval``)."""

    approved: bool
    by: str
    reason: str = ""


class TradeExecuted(Event, frozen=True, kw_only=True, tag="trade.executed.v1"):
    account_id: str
    fill: Fill


class TradeRejected(Event, frozen=True, kw_only=True, tag="trade.rejected.v1"):
    account_id: str
    trade: Trade
    reason: str


class ReportGenerated(Event, frozen=True, kw_only=True, tag="report.generated.v1"):
    account_id: str
    report: Report


class RunCompleted(Event, frozen=True, kw_only=True, tag="run.completed.v1"):
    account_id: str
    executed: bool
    trades: int


class RunFailed(Event, frozen=True, kw_only=True, tag="run.failed.v1"):
    account_id: str
    failed_step: str
    error: str


# --- step failures and timers ----------------------------------------------------------------------
class StepFailed(Event, frozen=True, kw_only=True, tag="step.failed.v1"):
    """A service could not do a step. ``retryable`` says whether trying again may succeed."""

    service: str
    error: str
    retryable: bool
    error_type: str = ""


class StepTimerFired(Envelope, frozen=True, kw_only=True, tag="run.timer.v1"):
    """Published by the server's message scheduler when a step's deadline or retry time comes."""

    step: str
    attempt: int
    kind: Literal["deadline", "retry"] = "deadline"


# --- portfolio -------------------------------------------------------------------------------------
class LoadPortfolio(Command, frozen=True, kw_only=True, tag="portfolio.load.v1"):
    account_id: str
    risk_override: RiskTolerance | None = None
    as_of: date | None = None


class PortfolioLoaded(Event, frozen=True, kw_only=True, tag="portfolio.loaded.v1"):
    account: AccountSnapshot
    household_activity: list[Transaction] = msgspec.field(default_factory=list)


class ApplyFills(Command, frozen=True, kw_only=True, tag="portfolio.apply-fills.v1"):
    account_id: str
    as_of: date
    trades: list[Trade]
    fills: list[Fill]
    review: TaxReview | None = None


class FillsApplied(Event, frozen=True, kw_only=True, tag="portfolio.fills-applied.v1"):
    account_id: str
    cash_after: Decimal
    lots_after: int
    realized_gain: Decimal
    last_rebalanced: date
    already_applied: bool = False
    realized: RealizedSales | None = None
    """What the run's taxable sales realized as the household ledger recorded them (``None`` from a
    producer that predates the field)."""


# --- market data and analysis ----------------------------------------------------------------------
class FetchMarketData(Command, frozen=True, kw_only=True, tag="market_data.fetch.v1"):
    symbols: list[str]
    as_of: date | None = None
    """The run's date; ``None`` means the deployment's date, else the last date of the data."""


class MarketDataFetched(Event, frozen=True, kw_only=True, tag="market_data.fetched.v1"):
    as_of: date
    quotes: dict[str, Quote]
    warnings: list[str] = msgspec.field(default_factory=list)


class AnalyzeMarket(Command, frozen=True, kw_only=True, tag="analysis.analyze.v1"):
    as_of: date
    weights: dict[str, Decimal]
    """Current weights by symbol (fractions of the invested value, cash excluded)."""
    universe: list[str] = msgspec.field(default_factory=list)
    """Every symbol the run may trade: the covariance for the optimizer covers them."""
    snapshot_id: str = ""
    """The run's market snapshot: the regime and covariance come from it (and ``universe`` is not needed)."""


class MarketAnalyzed(Event, frozen=True, kw_only=True, tag="analysis.analyzed.v1"):
    conditions: MarketConditions
    risk: PortfolioRisk | None = None


# --- tax -------------------------------------------------------------------------------------------
class BuildTaxContext(Command, frozen=True, kw_only=True, tag="tax.build-context.v1"):
    account: AccountSnapshot
    household_activity: list[Transaction]
    prices: dict[str, Decimal]
    as_of: date


class TaxContextBuilt(Event, frozen=True, kw_only=True, tag="tax.context-built.v1"):
    context: TaxContext


class ReviewPlan(Command, frozen=True, kw_only=True, tag="tax.review-plan.v1"):
    account: AccountSnapshot
    household_activity: list[Transaction]
    context: TaxContext
    plan: RebalancePlan
    as_of: date


class PlanReviewed(Event, frozen=True, kw_only=True, tag="tax.plan-reviewed.v1"):
    review: TaxReview


# --- rebalancing -----------------------------------------------------------------------------------
class PlanRebalance(Command, frozen=True, kw_only=True, tag="rebalancing.plan.v1"):
    account: AccountSnapshot
    prices: dict[str, Decimal]
    as_of: date
    options: PlanOptions
    tax: TaxContext | None = None
    risk: PortfolioRisk | None = None


class RebalancePlanned(Event, frozen=True, kw_only=True, tag="rebalancing.planned.v1"):
    plan: RebalancePlan


# --- execution -------------------------------------------------------------------------------------
class ExecuteTrades(Command, frozen=True, kw_only=True, tag="execution.execute.v1"):
    account_id: str
    as_of: date
    trades: list[Trade]
    prices: dict[str, Decimal]
    dry_run: bool
    batch_id: str = ""
    """The batch the run belongs to ("" for a run of its own)."""
    block: bool = False
    """The run's trades join its batch's block orders (one order per symbol and side for the whole batch;
    the coordinator decides, ``BLOCK_ORDERS``)."""
    block_size: int = 0
    """With ``block``: how many runs of the batch trade in the block; set (> 0) once every account of the
    batch has its planned trades (the execution service trades the block once it holds that many runs'
    trades); 0 while the batch's other accounts are still planning."""


class TradesExecuted(Event, frozen=True, kw_only=True, tag="execution.executed.v1"):
    account_id: str
    result: ExecutionResult


# --- notifications ---------------------------------------------------------------------------------
class Notify(Command, frozen=True, kw_only=True, tag="notifications.notify.v1"):
    account_id: str
    status: Literal["completed", "failed"]
    message: str
    report: Report | None = None


class Notified(Event, frozen=True, kw_only=True, tag="notifications.notified.v1"):
    channels: list[str]
    errors: list[str] = msgspec.field(default_factory=list)


# --- version 2 of the run's step messages: references instead of copies (see contracts/snapshot.py) ----
# A step's output is stored once (KV ``steps``, key ``<run_id>.<step>``) and the market data once per
# snapshot (KV ``snapshots``); these commands name what they need instead of carrying it. The receiving
# service's runtime reads the referenced outputs and hands its handler the full version-1 command, which
# stays valid on the wire (a client may still send it).


class MarketDataFetchedV2(Event, frozen=True, kw_only=True, tag="market_data.fetched.v2"):
    """The run's prices are the snapshot's (``snapshot_id``: its prices part in KV ``snapshots``)."""

    as_of: date
    snapshot_id: str


class AnalyzeMarketV2(Command, frozen=True, kw_only=True, tag="analysis.analyze.v2"):
    """Analyze the run's account (the ``load-portfolio`` output) at the snapshot's prices."""

    as_of: date
    snapshot_id: str


class BuildTaxContextV2(Command, frozen=True, kw_only=True, tag="tax.build-context.v2"):
    """The tax context of the run's account (``load-portfolio`` output) at the snapshot's prices."""

    as_of: date
    snapshot_id: str


class PlanRebalanceV2(Command, frozen=True, kw_only=True, tag="rebalancing.plan.v2"):
    """Plan from the ``load-portfolio``, ``analyze-market-conditions`` and ``tax-context`` outputs, at the
    snapshot's prices and covariance."""

    as_of: date
    snapshot_id: str
    options: PlanOptions


class ReviewPlanV2(Command, frozen=True, kw_only=True, tag="tax.review-plan.v2"):
    """Review the ``calculate-rebalancing`` plan of the ``load-portfolio`` account with its ``tax-context``."""

    as_of: date


class ExecuteTradesV2(Command, frozen=True, kw_only=True, tag="execution.execute.v2"):
    """Execute the trades of the ``calculate-rebalancing`` plan at the snapshot's prices."""

    account_id: str
    as_of: date
    snapshot_id: str
    dry_run: bool
    batch_id: str = ""
    """The batch the run belongs to ("" for a run of its own)."""
    block: bool = False
    """As :attr:`ExecuteTrades.block`."""
    block_size: int = 0
    """As :attr:`ExecuteTrades.block_size`."""


class ApplyFillsV2(Command, frozen=True, kw_only=True, tag="portfolio.apply-fills.v2"):
    """Apply the ``execute-trades`` fills of the ``calculate-rebalancing`` plan, with the
    ``tax-optimization`` review (when there is one)."""

    account_id: str
    as_of: date


Message = (
    RebalanceRequested
    | CommandBundle
    | ResultBundle
    | BatchRequested
    | RunCancelRequested
    | RunApprovalDecided
    | ScheduledRun
    | TradeExecuted
    | TradeRejected
    | ReportGenerated
    | RunCompleted
    | RunFailed
    | StepFailed
    | StepTimerFired
    | LoadPortfolio
    | PortfolioLoaded
    | ApplyFills
    | FillsApplied
    | FetchMarketData
    | MarketDataFetched
    | AnalyzeMarket
    | MarketAnalyzed
    | BuildTaxContext
    | TaxContextBuilt
    | ReviewPlan
    | PlanReviewed
    | PlanRebalance
    | RebalancePlanned
    | ExecuteTrades
    | TradesExecuted
    | Notify
    | Notified
    | MarketDataFetchedV2
    | AnalyzeMarketV2
    | BuildTaxContextV2
    | PlanRebalanceV2
    | ReviewPlanV2
    | ExecuteTradesV2
    | ApplyFillsV2
)
