"""A run report built by hand (the contracts only): two sells relieving three lots, two buys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from contracts import (
    MarketConditions,
    Report,
    ReportAction,
    ReportAnalysis,
    ReportExecution,
    ReportLot,
    TaxImplication,
    TaxOptimizationSummary,
)

D = Decimal

BEFORE = {"bond": D("21.17"), "cash": D("5.77"), "equity": D("66.13"), "reit": D("6.93")}
TARGET = {"bond": D("20.00"), "cash": D("0.00"), "equity": D("70.00"), "reit": D("10.00")}
AFTER = {"bond": D("20.00"), "cash": D("0.02"), "equity": D("70.00"), "reit": D("9.98")}


def _lot(lot_id: str, shares: str, gain: str, term: str) -> ReportLot:
    return ReportLot(
        lot_id=lot_id,
        shares=D(shares),
        cost_basis=D("100.00"),
        gain_loss=D(gain),
        holding_period=term,  # type: ignore[arg-type]
        acquired=date(2024, 3, 1),
        estimated_tax=D("0.50"),
    )


def sample_report() -> Report:
    actions = [
        ReportAction(
            symbol="VTI", action="buy", shares=D("6"), estimated_value=D("2131.74"), price=D("355.29"),
            asset_class="equity", reason="equity 3.9 pts under target",
        ),
        ReportAction(
            symbol="BND", action="sell", shares=D("11"), estimated_value=D("806.96"), price=D("73.36"),
            asset_class="bond", reason="bond 1.2 pts over target; sells lots demo-bnd-2, \"long\" first",
            tax_implication=TaxImplication(gain_loss=D("3.41"), tax_liability=D("0.68"), holding_period="long"),
            lots=[_lot("demo-bnd-2", "11", "3.41", "long")],
        ),
        ReportAction(
            symbol="VEA", action="sell", shares=D("5"), estimated_value=D("343.60"), price=D("68.72"),
            asset_class="equity", reason="harvest a loss",
            tax_implication=TaxImplication(gain_loss=D("-20.00"), tax_liability=D("-4.00"), holding_period="mixed"),
            lots=[_lot("demo-vea-1", "3", "-30.00", "short"), _lot("demo-vea-2", "2", "10.00", "long")],
        ),
        ReportAction(
            symbol="VNQ", action="buy", shares=D("22"), estimated_value=D("2113.32"), price=D("96.06"),
            asset_class="reit", reason="reit 3.1 pts under target <b>",
        ),
    ]  # fmt: skip
    return Report(
        account_id="demo",
        portfolio_value=D("69312.00"),
        analysis=ReportAnalysis(
            needs_rebalancing=True,
            deviations={"equity": D("3.87"), "bond": D("1.17")},
            market_conditions=MarketConditions(
                market_sentiment="bullish", volatility_index=16.99, risk_recommendation="ok", market_timing="good"
            ),
            tax_optimization=TaxOptimizationSummary(
                harvestable_gains=D("3.41"),
                harvestable_losses=D("30.00"),
                tax_savings=D("6.00"),
                recommendations=["sell the gain lot"],
                wash_sale_risk=True,
                estimated_tax=D("0.68"),
                wash_sale_findings=["BND loss would be washed by AGG bought in demo-ira"],
            ),
            should_rebalance=True,
            decision="needs rebalancing and market timing is good",
        ),
        actions=actions,
        execution=ReportExecution(executed=False, dry_run=True, trades=[], total_cost=D(0), errors=[]),
        recommendations=["Decision: rebalance."],
        timestamp=datetime(2026, 5, 1, 21, 0, tzinfo=UTC),
        run_id="run-42",
        as_of=date(2026, 5, 1),
        allocation_before=BEFORE,
        allocation_after=AFTER,
        target_allocation=TARGET,
        estimated_tax=D("0.68"),
        estimated_costs=D("1.20"),
        solver="osqp",
    )
