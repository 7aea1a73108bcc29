"""The run report: every field of the original workflow's report, plus the allocation before and after.

Field names are camelCase, as in the original workflow's JSON. Amounts are decimal strings.
``execution.totalCost`` keeps the original meaning (the gross value of the executed trades);
``execution.commissions`` is what trading cost.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec

from contracts.values import MarketConditions, PortfolioRisk, TaxImplication, Value

__all__ = [
    "ExecutedTrade",
    "Report",
    "ReportAction",
    "ReportAnalysis",
    "ReportExecution",
    "ReportLot",
    "TaxOptimizationSummary",
    "UnfilledTrade",
]


class ReportLot(Value, frozen=True, kw_only=True, rename="camel"):
    lot_id: str
    shares: Decimal
    cost_basis: Decimal
    gain_loss: Decimal
    holding_period: Literal["short", "long"]
    acquired: date | None = None
    estimated_tax: Decimal = Decimal(0)


class ReportAction(Value, frozen=True, kw_only=True, rename="camel"):
    symbol: str
    action: Literal["buy", "sell"]
    shares: Decimal
    estimated_value: Decimal
    reason: str
    price: Decimal = Decimal(0)
    asset_class: str = ""
    tax_implication: TaxImplication | None = None
    lots: list[ReportLot] = msgspec.field(default_factory=list)


class TaxOptimizationSummary(Value, frozen=True, kw_only=True, rename="camel"):
    harvestable_gains: Decimal
    harvestable_losses: Decimal
    tax_savings: Decimal
    recommendations: list[str]
    wash_sale_risk: bool
    estimated_tax: Decimal = Decimal(0)
    wash_sale_findings: list[str] = msgspec.field(default_factory=list)
    realized_short_term: Decimal = Decimal(0)
    realized_long_term: Decimal = Decimal(0)
    wash_sale_disallowed: Decimal = Decimal(0)
    """The plan's losses disallowed by wash sales (already out of the realized figures)."""
    permanently_disallowed: Decimal = Decimal(0)
    """The part of ``wash_sale_disallowed`` replaced inside an IRA: lost for good, in no lot's basis."""
    realized_from_ledger: bool = False
    """True when the four figures above are what the ledger recorded for the run's executed sales
    (net of commissions); False when they are the plan's estimate (a dry run). ``estimated_tax`` is
    always the plan's estimate."""


class ReportAnalysis(Value, frozen=True, kw_only=True, rename="camel"):
    needs_rebalancing: bool
    deviations: dict[str, Decimal]
    market_conditions: MarketConditions
    tax_optimization: TaxOptimizationSummary | None = None
    should_rebalance: bool = False
    decision: str = ""
    risk: PortfolioRisk | None = None


class ExecutedTrade(Value, frozen=True, kw_only=True, rename="camel"):
    symbol: str
    action: Literal["buy", "sell"]
    shares: Decimal
    execution_price: Decimal
    timestamp: datetime
    order_id: str
    commission: Decimal = Decimal(0)


class UnfilledTrade(Value, frozen=True, kw_only=True, rename="camel"):
    """A trade that did not fill, or filled in part: shares planned, sent and filled, the broker's final
    status and the reason."""

    symbol: str
    action: Literal["buy", "sell"]
    planned_shares: Decimal
    ordered_shares: Decimal
    filled_shares: Decimal
    status: str
    reason: str


class ReportExecution(Value, frozen=True, kw_only=True, rename="camel"):
    executed: bool
    dry_run: bool
    trades: list[ExecutedTrade]
    total_cost: Decimal
    errors: list[str]
    commissions: Decimal = Decimal(0)
    simulated_trades: list[ExecutedTrade] = msgspec.field(default_factory=list)
    unfilled: list[UnfilledTrade] = msgspec.field(default_factory=list)
    """Trades that did not fill or filled in part, with the broker's status and reason."""
    broker: str = ""


class Report(Value, frozen=True, kw_only=True, rename="camel"):
    account_id: str
    portfolio_value: Decimal
    analysis: ReportAnalysis
    actions: list[ReportAction]
    execution: ReportExecution
    recommendations: list[str]
    timestamp: datetime
    run_id: str = ""
    as_of: date | None = None
    allocation_before: dict[str, Decimal] = msgspec.field(default_factory=dict)
    allocation_after: dict[str, Decimal] = msgspec.field(default_factory=dict)
    target_allocation: dict[str, Decimal] = msgspec.field(default_factory=dict)
    estimated_tax: Decimal = Decimal(0)
    estimated_costs: Decimal = Decimal(0)
    solver: str = ""
    warnings: list[str] = msgspec.field(default_factory=list)
    volatility_before: float | None = None
    volatility_after: float | None = None
