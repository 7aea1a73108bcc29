"""Value objects shared by several messages: accounts and lots, quotes, plans, fills."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Final, Literal

import msgspec

from contracts.envelope import Value

__all__ = [
    "MAX_AMOUNT",
    "MAX_APPROVAL_TIMEOUT_SECONDS",
    "MAX_EXCLUDED_SYMBOLS",
    "AccountSnapshot",
    "AccountType",
    "Action",
    "ExecutionResult",
    "Fill",
    "HarvestCandidate",
    "Identifier",
    "Lot",
    "LotSale",
    "LotTax",
    "MarketConditions",
    "PlanOptions",
    "PortfolioRisk",
    "Quote",
    "RealizedSale",
    "RealizedSales",
    "RebalanceMode",
    "RebalancePlan",
    "RebalanceRequest",
    "RiskTolerance",
    "TaxContext",
    "TaxImplication",
    "TaxProfile",
    "TaxReview",
    "Trade",
    "Transaction",
    "UnfilledOrder",
    "WashSaleAdjustment",
]

RiskTolerance = Literal["conservative", "moderate", "aggressive"]
AccountType = Literal["taxable", "traditional_ira", "roth_ira"]
Action = Literal["buy", "sell"]
RebalanceMode = Literal["full", "threshold", "buy-only", "sell-only", "harvest", "harvest-reinvest"]


Identifier = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
"""An account or run id: letters, digits, '-' and '_' (it becomes part of KV keys and subjects)."""


MAX_AMOUNT: Final = Decimal("1000000000000")
"""The largest amount a request may name ($1 trillion): more than any account; every sum stays exact."""
MAX_APPROVAL_TIMEOUT_SECONDS: Final = 30 * 24 * 3600.0
"""The longest a run may wait for an approval (30 days)."""
MAX_EXCLUDED_SYMBOLS: Final = 500


class RebalanceRequest(Value, frozen=True, kw_only=True):
    """The original workflow's request schema (snake_case on the bus, camelCase over HTTP)."""

    account_id: Identifier
    force_rebalance: bool = False
    max_trade_amount: Decimal | None = None
    exclude_symbols: list[str] = msgspec.field(default_factory=list)
    dry_run: bool = False
    tax_optimization: bool = True
    risk_override: RiskTolerance | None = None
    mode: RebalanceMode = "full"
    as_of: date | None = None
    withdraw_amount: Decimal | None = None
    require_approval: bool = False
    approval_timeout_seconds: float | None = None
    """How long the run waits for a decision before the approval expires (default: the deployment's)."""
    tenant: str = "default"
    """The tenant that started the run (the gateway's API key); the run and its schedule belong to it."""

    def __post_init__(self) -> None:
        """Bound every number from outside: anyone may publish a request on the bus, so the contract refuses
        what no run could use (decoding fails with the field's name and the message goes to the DLQ)."""
        for name in ("max_trade_amount", "withdraw_amount"):
            amount = getattr(self, name)
            if amount is not None and not (amount.is_finite() and 0 < amount <= MAX_AMOUNT):
                raise ValueError(f"{name}: must be more than 0 and at most {MAX_AMOUNT}, got {amount}")
        timeout = self.approval_timeout_seconds
        if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_APPROVAL_TIMEOUT_SECONDS):
            most = MAX_APPROVAL_TIMEOUT_SECONDS
            raise ValueError(f"approval_timeout_seconds: must be more than 0 and at most {most:g}, got {timeout:g}")
        if len(self.exclude_symbols) > MAX_EXCLUDED_SYMBOLS:
            raise ValueError(
                f"exclude_symbols: at most {MAX_EXCLUDED_SYMBOLS} symbols, got {len(self.exclude_symbols)}"
            )
        if any(not 0 < len(symbol) <= 16 for symbol in self.exclude_symbols):
            raise ValueError("exclude_symbols: each symbol has 1 to 16 characters")


class Lot(Value, frozen=True, kw_only=True):
    """A tax lot. ``cost_basis`` is the lot's total basis including wash-sale adjustments."""

    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date
    holding_period_start: date | None = None
    wash_sale_adjustment: Decimal = Decimal(0)


class Transaction(Value, frozen=True, kw_only=True):
    """A buy or sell in the household's history (for the 61-day wash-sale window)."""

    account_id: str
    account_type: AccountType
    date: date
    symbol: str
    action: Literal["buy", "sell", "reinvest"]
    shares: Decimal
    price: Decimal
    lot_id: str = ""
    realized_gain: Decimal | None = None
    run_id: str = ""
    fees: Decimal = Decimal(0)
    """Dollars: added to the cost of a buy, deducted from the proceeds of a sale (the commission)."""


class TaxProfile(Value, frozen=True, kw_only=True):
    filing_status: Literal["single", "mfj", "mfs", "hoh"] = "single"
    taxable_income: Decimal = Decimal(0)
    magi: Decimal = Decimal(0)
    state_rate: Decimal = Decimal(0)
    federal_short_term_rate: Decimal | None = None
    federal_long_term_rate: Decimal | None = None


class AccountSnapshot(Value, frozen=True, kw_only=True):
    """An account as the portfolio service holds it, with the target resolved for the run."""

    account_id: str
    household_id: str
    name: str = ""
    account_type: AccountType = "taxable"
    risk_tolerance: RiskTolerance = "moderate"
    rebalance_threshold: Decimal = Decimal(5)
    cash: Decimal = Decimal(0)
    cash_reserve: Decimal = Decimal(0)
    fractional: bool = False
    lot_method: str = "fifo"
    reinvest_dividends: bool = False
    last_rebalanced: date | None = None
    lots: list[Lot] = msgspec.field(default_factory=list)
    target: dict[str, Decimal] = msgspec.field(default_factory=dict)
    model: str = ""
    tax_profile: TaxProfile = msgspec.field(default_factory=TaxProfile)
    do_not_buy: dict[str, date] = msgspec.field(default_factory=dict)
    revision: int = 0
    tenant: str = "default"
    """The tenant the account's household belongs to (only that tenant's API keys see it)."""
    # Planning settings of the account (see services/rebalancing/README.md).
    band_relative: Decimal | None = None
    """A relative band as a fraction of each target (0.25: 25%); with the threshold, the narrower applies."""
    rebalance_to: Literal["target", "band-edge"] = "target"
    min_trade: Decimal = Decimal(100)
    """Smaller trades are dropped (dollars); the original workflow's $100."""
    turnover_cap: Decimal | None = None
    """Buys plus sells at most this percent of the account in one run."""
    restricted_symbols: list[str] = msgspec.field(default_factory=list)
    """Never bought (held ones may be sold), e.g. an employer's stock or a compliance list."""
    max_realized_gain: Decimal | None = None
    max_estimated_tax: Decimal | None = None
    """The run's tax budget: a cap on net realized gains and on estimated tax (dollars)."""
    broker_account: str = ""
    """The broker account that holds this account's positions; "" is the one the credentials name
    (an omnibus account shared by every account without a setting)."""
    security_targets: dict[str, Decimal] = msgspec.field(default_factory=dict)
    """Security-level targets of the account's model (symbol to percent of the account), resolved for the run."""
    substitutes: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Per model security, the symbols bought instead when it cannot be (do-not-buy, restricted, no price)."""

    @property
    def taxable(self) -> bool:
        return self.account_type == "taxable"

    @property
    def symbols(self) -> list[str]:
        return sorted({lot.symbol for lot in self.lots})


class Quote(Value, frozen=True, kw_only=True):
    """A symbol's actual close as of a date (``close`` is the traded, split-adjusted price)."""

    symbol: str
    as_of: date
    close: Decimal
    previous_close: Decimal
    change: Decimal
    change_percent: Decimal
    adjusted_close: Decimal | None = None
    stale: bool = False
    age_trading_days: int = 0


class MarketConditions(Value, frozen=True, kw_only=True, rename="camel"):
    """The original workflow's market analysis, computed from data."""

    market_sentiment: Literal["bullish", "bearish", "neutral"]
    volatility_index: float
    risk_recommendation: str
    market_timing: Literal["good", "poor", "neutral"]
    as_of: date | None = None
    vix_percentile: float | None = None
    realized_volatility: float | None = None
    realized_volatility_percentile: float | None = None
    trend: float | None = None


class PortfolioRisk(Value, frozen=True, kw_only=True, rename="camel"):
    """Risk of the account's current weights over the analysis window (fractions, annualized)."""

    volatility: float
    max_drawdown: float | None = None
    var_95: float | None = None
    cvar_95: float | None = None
    sharpe: float | None = None
    beta: float | None = None
    risk_contribution: dict[str, float] = msgspec.field(default_factory=dict)
    symbols: list[str] = msgspec.field(default_factory=list)
    covariance: list[list[float]] = msgspec.field(default_factory=list)
    start: date | None = None
    end: date | None = None
    observations: int = 0


class LotTax(Value, frozen=True, kw_only=True):
    """A lot's unrealized position as of the run's date."""

    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    price: Decimal
    market_value: Decimal
    unrealized_gain: Decimal
    term: Literal["short", "long"]
    days_to_long_term: int = 0
    loss_sale_would_wash: bool = False


class HarvestCandidate(Value, frozen=True, kw_only=True):
    lot_id: str
    symbol: str
    shares: Decimal
    loss: Decimal
    term: Literal["short", "long"]
    replacement: str | None = None
    estimated_saving: Decimal = Decimal(0)
    reason: str = ""


class TaxContext(Value, frozen=True, kw_only=True):
    """What the tax service knows of an account before planning."""

    as_of: date
    taxable: bool
    short_term_rate: Decimal
    long_term_rate: Decimal
    lots: list[LotTax] = msgspec.field(default_factory=list)
    do_not_buy: dict[str, date] = msgspec.field(default_factory=dict)
    wash_sale_blocked_symbols: list[str] = msgspec.field(default_factory=list)
    harvest_candidates: list[HarvestCandidate] = msgspec.field(default_factory=list)
    unrealized_gains: Decimal = Decimal(0)
    unrealized_losses: Decimal = Decimal(0)
    notes: list[str] = msgspec.field(default_factory=list)


class TaxImplication(Value, frozen=True, kw_only=True, rename="camel"):
    """The original workflow's per-trade tax figure, now summed from the lots sold."""

    gain_loss: Decimal
    tax_liability: Decimal
    holding_period: Literal["short", "long", "mixed"]


class LotSale(Value, frozen=True, kw_only=True):
    lot_id: str
    shares: Decimal
    cost_basis: Decimal = Decimal(0)
    gain: Decimal = Decimal(0)
    term: Literal["short", "long"] = "long"
    acquired: date | None = None


class Trade(Value, frozen=True, kw_only=True):
    trade_id: str
    symbol: str
    action: Action
    shares: Decimal
    price: Decimal
    value: Decimal
    asset_class: str = ""
    lots: list[LotSale] = msgspec.field(default_factory=list)
    reason: str = ""
    tax_implication: TaxImplication | None = None


class PlanOptions(Value, frozen=True, kw_only=True):
    mode: RebalanceMode = "full"
    max_trade_amount: Decimal | None = None
    exclude_symbols: list[str] = msgspec.field(default_factory=list)
    withdraw_amount: Decimal | None = None
    force: bool = False


class RebalancePlan(Value, frozen=True, kw_only=True):
    needs_rebalancing: bool
    deviations: dict[str, Decimal]
    trades: list[Trade]
    estimated_tax: Decimal = Decimal(0)
    estimated_costs: Decimal = Decimal(0)
    before: dict[str, Decimal] = msgspec.field(default_factory=dict)
    after: dict[str, Decimal] = msgspec.field(default_factory=dict)
    solver: str = ""
    warnings: list[str] = msgspec.field(default_factory=list)
    portfolio_value: Decimal = Decimal(0)
    volatility_before: float | None = None
    volatility_after: float | None = None
    """Annualized volatility of the whole account (cash included) before and after the trades."""


class WashSaleAdjustment(Value, frozen=True, kw_only=True):
    """A disallowed loss of the plan and where it goes (a replacement lot, or lost in an IRA)."""

    sold_lot_id: str
    symbol: str
    disallowed: Decimal
    replacement_account_id: str = ""
    replacement_lot_id: str = ""
    permanent: bool = False
    reason: str = ""


class TaxReview(Value, frozen=True, kw_only=True):
    """The tax-optimization step: the plan's tax impact and the original workflow's summary."""

    harvestable_gains: Decimal
    harvestable_losses: Decimal
    tax_savings: Decimal
    recommendations: list[str]
    wash_sale_risk: bool
    estimated_tax: Decimal = Decimal(0)
    realized_short_term: Decimal = Decimal(0)
    realized_long_term: Decimal = Decimal(0)
    lots: list[LotSale] = msgspec.field(default_factory=list)
    wash_sale_findings: list[str] = msgspec.field(default_factory=list)
    wash_sale_adjustments: list[WashSaleAdjustment] = msgspec.field(default_factory=list)
    do_not_buy_after: dict[str, date] = msgspec.field(default_factory=dict)


class RealizedSale(Value, frozen=True, kw_only=True):
    """One sale of a run as the household lot ledger recorded it (a line of Form 8949)."""

    symbol: str
    lot_id: str
    shares: Decimal
    acquired: date
    term: Literal["short", "long"]
    proceeds: Decimal
    """Net of the sale's commission."""
    cost_basis: Decimal
    """Including buy fees and the wash-sale adjustments the lot carried."""
    gain: Decimal
    """Reportable: proceeds - cost basis + the disallowed loss."""
    wash_sale_disallowed: Decimal = Decimal(0)
    permanently_disallowed: Decimal = Decimal(0)


class RealizedSales(Value, frozen=True, kw_only=True):
    """A run's taxable sales as the ledger recorded them when its fills were applied (not the plan's
    estimate): later purchases within 30 days may still wash a loss, which the ledger then records."""

    realized_short_term: Decimal
    realized_long_term: Decimal
    wash_sale_disallowed: Decimal
    permanently_disallowed: Decimal
    sales: list[RealizedSale] = msgspec.field(default_factory=list)


class Fill(Value, frozen=True, kw_only=True):
    order_id: str
    trade_id: str
    symbol: str
    action: Action
    shares: Decimal
    price: Decimal
    commission: Decimal
    """What the broker charged for the fill: its commission and fees (Alpaca: the order's commission and its
    FEE account activities; the paper broker: the commission of the one cost model, shared.costs)."""
    value: Decimal
    filled_at: datetime
    simulated: bool = False
    broker_order_id: str = ""
    """The broker's own id of the order ("" on the paper broker)."""


class UnfilledOrder(Value, frozen=True, kw_only=True):
    """A trade of the plan that did not fill, or filled only in part, and why."""

    trade_id: str
    symbol: str
    action: Action
    planned: Decimal
    """Shares the plan asked for."""
    ordered: Decimal
    """Shares sent to the broker (fewer than planned when a buy was cut to the cash the sells raised)."""
    filled: Decimal
    status: str
    """The order's final status at the broker (``rejected``, ``canceled``, ``expired``, ``partially_filled``,
    ``not_sent``)."""
    reason: str


class ExecutionResult(Value, frozen=True, kw_only=True):
    executed: bool
    dry_run: bool
    fills: list[Fill] = msgspec.field(default_factory=list)
    rejected: list[str] = msgspec.field(default_factory=list)
    total_cost: Decimal = Decimal(0)
    total_commission: Decimal = Decimal(0)
    errors: list[str] = msgspec.field(default_factory=list)
    unfilled: list[UnfilledOrder] = msgspec.field(default_factory=list)
    broker: str = "paper"
