"""Build the run report: the original workflow's fields, computed from what the steps found.

The steps' outputs are not in the run record: the coordinator reads them (KV ``steps``) into
:class:`ReportInputs` and builds the report from the record and those, purely.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import msgspec

from contracts import (
    AccountSnapshot,
    ExecutedTrade,
    ExecutionResult,
    Fill,
    FillsApplied,
    MarketAnalyzed,
    MarketConditions,
    PlanReviewed,
    PortfolioLoaded,
    PortfolioRisk,
    RealizedSales,
    RebalancePlan,
    RebalancePlanned,
    Report,
    ReportAction,
    ReportAnalysis,
    ReportExecution,
    ReportLot,
    RunRecord,
    TaxContext,
    TaxContextBuilt,
    TaxOptimizationSummary,
    TaxReview,
    Trade,
    TradesExecuted,
    UnfilledTrade,
)
from shared.money import ZERO, cents

__all__ = ["ReportInputs", "build_report"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInputs:
    """The step outputs a report is built from (each ``None`` when its step did not run)."""

    account: AccountSnapshot | None = None
    risk: PortfolioRisk | None = None
    tax_context: TaxContext | None = None
    plan: RebalancePlan | None = None
    review: TaxReview | None = None
    execution: ExecutionResult | None = None
    stale: Mapping[str, str] = field(default_factory=dict)
    """The snapshot's stale-price warnings by symbol; the report names those the account holds or trades."""
    realized: RealizedSales | None = None
    """What the run's sales realized as the ledger recorded them (``update-portfolio``); ``None`` for a
    run whose fills were not applied (a dry run keeps the plan's estimate)."""

    @classmethod
    def of(cls, outputs: Mapping[str, object], stale: Mapping[str, str]) -> ReportInputs:
        """The inputs from the steps' stored results by step name (a step absent or of another type: ``None``)."""
        loaded, analyzed = outputs.get("load-portfolio"), outputs.get("analyze-market-conditions")
        context, planned = outputs.get("tax-context"), outputs.get("calculate-rebalancing")
        reviewed, executed = outputs.get("tax-optimization"), outputs.get("execute-trades")
        applied = outputs.get("update-portfolio")
        return cls(
            account=loaded.account if isinstance(loaded, PortfolioLoaded) else None,
            risk=analyzed.risk if isinstance(analyzed, MarketAnalyzed) else None,
            tax_context=context.context if isinstance(context, TaxContextBuilt) else None,
            plan=planned.plan if isinstance(planned, RebalancePlanned) else None,
            review=reviewed.review if isinstance(reviewed, PlanReviewed) else None,
            execution=executed.result if isinstance(executed, TradesExecuted) else None,
            stale=stale,
            realized=applied.realized if isinstance(applied, FillsApplied) else None,
        )


_UNKNOWN_CONDITIONS = MarketConditions(
    market_sentiment="neutral",
    volatility_index=0.0,
    risk_recommendation="Market conditions were not analyzed.",
    market_timing="neutral",
)


def _action(trade: Trade, lot_taxes: dict[str, Decimal]) -> ReportAction:
    return ReportAction(
        symbol=trade.symbol,
        action=trade.action,
        shares=trade.shares,
        estimated_value=cents(trade.value),
        reason=trade.reason,
        price=trade.price,
        asset_class=trade.asset_class,
        tax_implication=trade.tax_implication,
        lots=[
            ReportLot(
                lot_id=lot.lot_id,
                shares=lot.shares,
                cost_basis=cents(lot.cost_basis),
                gain_loss=cents(lot.gain),
                holding_period=lot.term,
                acquired=lot.acquired,
                estimated_tax=cents(lot_taxes.get(lot.lot_id, ZERO)),
            )
            for lot in trade.lots
        ],
    )


def _executed(fill: Fill) -> ExecutedTrade:
    return ExecutedTrade(
        symbol=fill.symbol,
        action=fill.action,
        shares=fill.shares,
        execution_price=fill.price,
        timestamp=fill.filled_at,
        order_id=fill.order_id,
        commission=fill.commission,
    )


def _execution(record: RunRecord, result: ExecutionResult | None) -> ReportExecution:
    dry_run = record.request.dry_run
    if result is None:
        return ReportExecution(executed=False, dry_run=dry_run, trades=[], total_cost=ZERO, errors=[])
    real = [f for f in result.fills if not f.simulated]
    simulated = [f for f in result.fills if f.simulated]
    return ReportExecution(
        executed=result.executed and bool(real),
        dry_run=result.dry_run,
        trades=[_executed(f) for f in real],
        total_cost=cents(sum((f.value for f in real), ZERO)),
        errors=list(result.errors),
        commissions=cents(sum((f.commission for f in real), ZERO)),
        simulated_trades=[_executed(f) for f in simulated],
        unfilled=[
            UnfilledTrade(
                symbol=u.symbol,
                action=u.action,
                planned_shares=u.planned,
                ordered_shares=u.ordered,
                filled_shares=u.filled,
                status=u.status,
                reason=u.reason,
            )
            for u in result.unfilled
        ],
        broker=result.broker,
    )


def _allocation_after(record: RunRecord, inputs: ReportInputs) -> dict[str, Decimal]:
    """The planned allocation when the trades executed (or were simulated), else the one before."""
    plan, execution = inputs.plan, inputs.execution
    if plan is None:
        return {}
    traded = execution is not None and (execution.executed or execution.dry_run)
    return dict(plan.after) if record.should_rebalance and traded else dict(plan.before)


def _stale_warnings(inputs: ReportInputs) -> list[str]:
    held = {lot.symbol for lot in inputs.account.lots} if inputs.account else set()
    traded = {t.symbol for t in inputs.plan.trades} if inputs.plan else set()
    return [inputs.stale[s] for s in sorted(held | traded) if s in inputs.stale]


def _with_realized(summary: TaxOptimizationSummary, realized: RealizedSales | None) -> TaxOptimizationSummary:
    """The tax section with the realized figures the ledger recorded for the run's sales in place of the
    plan's (``estimatedTax`` stays the plan's estimate)."""
    if realized is None:
        return summary
    return msgspec.structs.replace(
        summary,
        realized_short_term=cents(realized.realized_short_term),
        realized_long_term=cents(realized.realized_long_term),
        wash_sale_disallowed=cents(realized.wash_sale_disallowed),
        permanently_disallowed=cents(realized.permanently_disallowed),
        realized_from_ledger=True,
    )


def build_report(record: RunRecord, inputs: ReportInputs, now: datetime) -> Report:
    plan = inputs.plan
    review = inputs.review
    conditions = record.conditions or _UNKNOWN_CONDITIONS
    lot_taxes: dict[str, Decimal] = {}
    context = inputs.tax_context
    if plan is not None and context is not None and context.taxable:
        rates = {"short": context.short_term_rate, "long": context.long_term_rate}
        lot_taxes = {lot.lot_id: lot.gain * rates[lot.term] for t in plan.trades for lot in t.lots}
    tax_summary = None
    if review is not None:
        tax_summary = _with_realized(
            TaxOptimizationSummary(
                harvestable_gains=cents(review.harvestable_gains),
                harvestable_losses=cents(review.harvestable_losses),
                tax_savings=cents(review.tax_savings),
                recommendations=list(review.recommendations),
                wash_sale_risk=review.wash_sale_risk,
                estimated_tax=cents(review.estimated_tax),
                wash_sale_findings=list(review.wash_sale_findings),
                realized_short_term=cents(review.realized_short_term),
                realized_long_term=cents(review.realized_long_term),
                wash_sale_disallowed=cents(sum((a.disallowed for a in review.wash_sale_adjustments), ZERO)),
                permanently_disallowed=cents(
                    sum((a.disallowed for a in review.wash_sale_adjustments if a.permanent), ZERO)
                ),
            ),
            inputs.realized if record.request.dry_run is False else None,
        )
    deviations = {k: abs(v) for k, v in (plan.deviations if plan else {}).items()}
    recommendations = [*(review.recommendations if review else []), conditions.risk_recommendation]
    if record.decision:
        recommendations.append(f"Decision: {record.decision}.")
    warnings = [*record.market_warnings, *_stale_warnings(inputs), *(plan.warnings if plan else [])]
    return Report(
        account_id=record.request.account_id,
        portfolio_value=cents(plan.portfolio_value) if plan else ZERO,
        analysis=ReportAnalysis(
            needs_rebalancing=plan.needs_rebalancing if plan else False,
            deviations=deviations,
            market_conditions=conditions,
            tax_optimization=tax_summary,
            should_rebalance=bool(record.should_rebalance),
            decision=record.decision,
            risk=msgspec.structs.replace(inputs.risk, covariance=[]) if inputs.risk else None,
        ),
        actions=[_action(t, lot_taxes) for t in (plan.trades if plan else [])],
        execution=_execution(record, inputs.execution),
        recommendations=[r for r in recommendations if r],
        timestamp=now,
        run_id=record.run_id,
        as_of=record.as_of,
        allocation_before=dict(plan.before) if plan else {},
        allocation_after=_allocation_after(record, inputs),
        target_allocation=dict(inputs.account.target) if inputs.account else {},
        estimated_tax=cents(plan.estimated_tax) if plan else ZERO,
        estimated_costs=cents(plan.estimated_costs) if plan else ZERO,
        solver=plan.solver if plan else "",
        warnings=warnings,
        volatility_before=plan.volatility_before if plan else None,
        volatility_after=plan.volatility_after if plan else None,
    )
