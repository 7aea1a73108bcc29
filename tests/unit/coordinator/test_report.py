"""The run report: the original workflow's fields, computed from what the steps found."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from contracts import ExecutionResult, encode
from services.coordinator.domain import ReportInputs, build_report
from tests.unit.coordinator.helpers import NOW, REALIZED, RUN, Scenario, drive, fills, report_inputs

D = Decimal


def _final(s: Scenario = Scenario()):  # type: ignore[no-untyped-def]
    record = drive(s)[-1]
    assert record.report is not None
    return record


def test_original_workflow_fields_are_present() -> None:
    data = json.loads(encode(_final().report))
    assert {
        "accountId",
        "portfolioValue",
        "analysis",
        "actions",
        "execution",
        "recommendations",
        "timestamp",
    } <= set(data)
    assert {"needsRebalancing", "deviations", "marketConditions", "taxOptimization"} <= set(data["analysis"])
    assert {"executed", "dryRun", "trades", "totalCost", "errors"} <= set(data["execution"])
    assert {"marketSentiment", "volatilityIndex", "riskRecommendation", "marketTiming"} <= set(
        data["analysis"]["marketConditions"]
    )
    assert {"harvestableGains", "harvestableLosses", "taxSavings", "recommendations", "washSaleRisk"} <= set(
        data["analysis"]["taxOptimization"]
    )
    assert {"symbol", "action", "shares", "estimatedValue", "reason"} <= set(data["actions"][0])
    assert {"symbol", "action", "shares", "executionPrice", "timestamp", "orderId"} <= set(
        data["execution"]["trades"][0]
    )


def test_report_values() -> None:
    record = _final()
    report = record.report
    assert report.account_id == "demo"
    assert report.run_id == RUN
    assert report.portfolio_value == D("45000.00")  # cents, half up
    assert report.analysis.needs_rebalancing is True
    assert report.analysis.should_rebalance is True
    assert report.analysis.deviations == {"equity": D("6.5"), "bond": D("6.5")}  # absolute values
    assert report.analysis.tax_optimization is not None
    assert report.analysis.tax_optimization.harvestable_gains == D("1000.00")
    assert [a.symbol for a in report.actions] == ["VTI", "BND"]
    assert report.actions[0].estimated_value == D("3000.00")
    assert report.actions[0].lots[0].estimated_tax == D("150.00")  # 1000 long-term gain at 15%
    assert report.recommendations == [
        "Sell long-term lots first",
        "Keep the target allocation.",
        "Decision: needs rebalancing and market timing is good.",
    ]
    assert report.warnings == ["stale price: BND", "plan warning"]  # GLD is stale, but neither held nor traded
    assert report.target_allocation == {"equity": D("70"), "bond": D("30")}
    assert report.estimated_tax == D("150.00")
    assert report.solver == "test"


def test_executed_only_with_real_fills() -> None:
    report = _final().report
    execution = report.execution
    assert execution.executed is True
    assert execution.dry_run is False
    assert [t.order_id for t in execution.trades] == [f"{RUN}.t1", f"{RUN}.t2"]
    assert execution.total_cost == D("5899.99")  # 2999.70 + 2900.292, to cents
    assert execution.commissions == D("0.59")
    assert execution.simulated_trades == []
    assert report.allocation_after == {"equity": D("70.00"), "bond": D("30.00")}


def test_dry_run_is_not_executed() -> None:
    report = _final(Scenario(dry_run=True)).report
    execution = report.execution
    assert execution.executed is False
    assert execution.dry_run is True
    assert execution.trades == []
    assert execution.total_cost == D("0")
    assert [t.order_id for t in execution.simulated_trades] == [f"{RUN}.t1", f"{RUN}.t2"]


def test_a_result_that_claims_execution_with_simulated_fills_is_not_executed() -> None:
    record = _final()
    claimed = ExecutionResult(executed=True, dry_run=False, fills=fills(simulated=True))
    inputs = dataclasses.replace(report_inputs(record), execution=claimed)
    report = build_report(record, inputs, NOW)
    assert report.execution.executed is False
    assert report.execution.trades == []


def test_no_fills_is_not_executed() -> None:
    record = _final()
    inputs = dataclasses.replace(report_inputs(record), execution=ExecutionResult(executed=True, dry_run=False))
    report = build_report(record, inputs, NOW)
    assert report.execution.executed is False


def test_allocation_after_equals_before_when_not_rebalancing() -> None:
    for scenario in (
        Scenario(timing="poor", vix=31.0),
        Scenario(needs_rebalancing=False, with_trades=False),
        Scenario(with_trades=False),
    ):
        report = _final(scenario).report
        assert report.analysis.should_rebalance is False
        assert report.allocation_after == report.allocation_before == {"equity": D("76.50"), "bond": D("23.50")}
        assert report.execution.executed is False
        assert report.execution.trades == []


def test_report_of_an_empty_run() -> None:
    from services.coordinator.domain import start_run
    from tests.unit.coordinator.helpers import requested

    report = build_report(start_run(requested(), NOW), ReportInputs(), NOW)
    assert report.portfolio_value == D("0")
    assert report.actions == []
    assert report.execution.executed is False
    assert report.analysis.market_conditions.market_timing == "neutral"
    assert report.allocation_after == {}
    assert report.timestamp == NOW


def test_an_executed_run_reports_what_the_ledger_realized_and_keeps_the_estimate_as_the_estimate() -> None:
    tax = _final().report.analysis.tax_optimization
    assert tax is not None
    # update-portfolio's figures (the ledger's, net of commissions, to cents), not the plan's
    assert (tax.realized_short_term, tax.realized_long_term) == (D("-120.00"), D("880.10"))
    assert (tax.wash_sale_disallowed, tax.permanently_disallowed) == (D("35.50"), D("10.25"))
    assert tax.realized_from_ledger is True
    assert tax.estimated_tax == D("150.00")  # the plan's estimate, unchanged


def test_a_dry_run_keeps_the_plans_estimate() -> None:
    record = _final(Scenario(dry_run=True))
    assert "update-portfolio" not in record.outputs
    tax = record.report.analysis.tax_optimization
    assert tax is not None and tax.realized_from_ledger is False
    assert (tax.realized_short_term, tax.realized_long_term, tax.wash_sale_disallowed) == (D(0), D(0), D(0))
    # even were a ledger figure at hand, a dry run's report says what the plan estimated
    inputs = dataclasses.replace(report_inputs(_final()), realized=REALIZED)
    dry = build_report(record, inputs, NOW).analysis.tax_optimization
    assert dry is not None and dry.realized_from_ledger is False and dry.realized_long_term == D(0)
