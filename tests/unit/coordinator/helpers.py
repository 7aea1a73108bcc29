"""Runs and step results for the saga's tests: small, deterministic, built from the contracts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from contracts import (
    AccountSnapshot,
    ExecutionResult,
    Fill,
    FillsApplied,
    LotSale,
    MarketAnalyzed,
    MarketConditions,
    MarketDataFetchedV2,
    Notified,
    PlanReviewed,
    PortfolioLoaded,
    Quote,
    RealizedSale,
    RealizedSales,
    RebalancePlan,
    RebalancePlanned,
    RebalanceRequest,
    RebalanceRequested,
    RunRecord,
    StepFailed,
    StepTimerFired,
    TaxContext,
    TaxContextBuilt,
    TaxReview,
    Trade,
    TradesExecuted,
)
from contracts import Lot as LotValue
from services.coordinator.domain import ReportInputs, RetryPolicy, apply_report, apply_result, build_report, start_run
from services.coordinator.domain.transitions import StepResult

D = Decimal
RUN = "run-1"
NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
AS_OF = date(2026, 1, 2)
REALIZED = RealizedSales(
    realized_short_term=D("-120.004"),
    realized_long_term=D("880.10"),
    wash_sale_disallowed=D("35.50"),
    permanently_disallowed=D("10.25"),
    sales=[
        RealizedSale(
            symbol="VTI",
            lot_id="lot-1",
            shares=D("4"),
            acquired=date(2020, 1, 2),
            term="long",
            proceeds=D("1080.10"),
            cost_basis=D("200.00"),
            gain=D("880.10"),
        )
    ],
)
"""What the ledger recorded for the run's sales (``update-portfolio``): not the plan's estimate."""
SNAPSHOT = "2026-01-02-0123456789abcdef"
STALE = {"BND": "stale price: BND", "GLD": "stale price: GLD"}
"""The snapshot's stale quotes: the report names BND (held), not GLD (neither held nor traded)."""
POLICY = RetryPolicy(timeout_seconds=30.0, max_attempts=3, backoff_seconds=0.5, max_backoff_seconds=30.0)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Scenario:
    """What the services answer in a run."""

    account_type: str = "taxable"
    needs_rebalancing: bool = True
    with_trades: bool = True
    timing: str = "good"
    vix: float = 16.5
    dry_run: bool = False
    force: bool = False
    tax_optimization: bool = True
    request_extra: dict[str, object] = field(default_factory=dict)


def requested(s: Scenario = Scenario(), run_id: str = RUN) -> RebalanceRequested:
    request = RebalanceRequest(
        account_id="demo",
        force_rebalance=s.force,
        dry_run=s.dry_run,
        tax_optimization=s.tax_optimization,
        **s.request_extra,  # type: ignore[arg-type]
    )
    return RebalanceRequested(
        run_id=run_id, message_id=f"{run_id}:requested", occurred_at=NOW, request=request, source="http"
    )


def account(s: Scenario = Scenario()) -> AccountSnapshot:
    return AccountSnapshot(
        account_id="demo",
        household_id="hh",
        account_type=s.account_type,  # type: ignore[arg-type]
        cash=D("1000.00"),
        lots=[
            LotValue(
                lot_id="vti-1", symbol="VTI", shares=D("100"), cost_basis=D("20000.00"), acquired=date(2020, 1, 2)
            ),
            LotValue(
                lot_id="bnd-1", symbol="BND", shares=D("200"), cost_basis=D("16000.00"), acquired=date(2020, 1, 2)
            ),
        ],
        target={"equity": D("70"), "bond": D("30")},
        model="custom",
    )


TRADES = [
    Trade(
        trade_id="t1",
        symbol="VTI",
        action="sell",
        shares=D("10"),
        price=D("300.00"),
        value=D("3000.00"),
        asset_class="equity",
        lots=[LotSale(lot_id="vti-1", shares=D("10"), cost_basis=D("2000.00"), gain=D("1000.00"), term="long")],
        reason="equity above target",
    ),
    Trade(
        trade_id="t2",
        symbol="BND",
        action="buy",
        shares=D("40"),
        price=D("72.50"),
        value=D("2900.00"),
        asset_class="bond",
        reason="bond below target",
    ),
]


def plan(s: Scenario = Scenario()) -> RebalancePlan:
    return RebalancePlan(
        needs_rebalancing=s.needs_rebalancing,
        deviations={"equity": D("6.5"), "bond": D("-6.5")},
        trades=list(TRADES) if s.with_trades else [],
        estimated_tax=D("150.00"),
        estimated_costs=D("0.60"),
        before={"equity": D("76.50"), "bond": D("23.50")},
        after={"equity": D("70.00"), "bond": D("30.00")},
        solver="test",
        warnings=["plan warning"],
        portfolio_value=D("45000.004"),
    )


def fills(simulated: bool) -> list[Fill]:
    return [
        Fill(
            order_id=f"{RUN}.t1",
            trade_id="t1",
            symbol="VTI",
            action="sell",
            shares=D("10"),
            price=D("299.97"),
            commission=D("0.30"),
            value=D("2999.70"),
            filled_at=NOW,
            simulated=simulated,
        ),
        Fill(
            order_id=f"{RUN}.t2",
            trade_id="t2",
            symbol="BND",
            action="buy",
            shares=D("40"),
            price=D("72.5073"),
            commission=D("0.29"),
            value=D("2900.292"),
            filled_at=NOW,
            simulated=simulated,
        ),
    ]


def conditions(s: Scenario = Scenario()) -> MarketConditions:
    return MarketConditions(
        market_sentiment="neutral",
        volatility_index=s.vix,
        risk_recommendation="Keep the target allocation.",
        market_timing=s.timing,  # type: ignore[arg-type]
    )


def _quote(symbol: str, close: str) -> Quote:
    return Quote(symbol=symbol, as_of=AS_OF, close=D(close), previous_close=D(close), change=D(0), change_percent=D(0))


class _Common(TypedDict):
    """The envelope fields every step result carries."""

    run_id: str
    message_id: str
    occurred_at: datetime
    step: str
    attempt: int


def result(record: RunRecord, step: str, s: Scenario = Scenario(), attempt: int | None = None) -> StepResult:
    """The result of ``step`` as its service would send it (for the step's current attempt)."""
    attempt = record.step(step).attempts if attempt is None else attempt
    common: _Common = {
        "run_id": record.run_id,
        "message_id": f"{record.run_id}:{step}:{attempt}:result",
        "occurred_at": NOW,
        "step": step,
        "attempt": attempt,
    }
    if step == "load-portfolio":
        return PortfolioLoaded(**common, account=account(s))
    if step == "fetch-market-data":
        return MarketDataFetchedV2(**common, as_of=AS_OF, snapshot_id=SNAPSHOT)
    if step == "analyze-market-conditions":
        return MarketAnalyzed(**common, conditions=conditions(s))
    if step == "tax-context":
        context = TaxContext(
            as_of=AS_OF,
            taxable=s.account_type == "taxable",
            short_term_rate=D("0.30"),
            long_term_rate=D("0.15"),
        )
        return TaxContextBuilt(**common, context=context)
    if step == "calculate-rebalancing":
        return RebalancePlanned(**common, plan=plan(s))
    if step == "tax-optimization":
        review = TaxReview(
            harvestable_gains=D("1000.004"),
            harvestable_losses=D("0"),
            tax_savings=D("0"),
            recommendations=["Sell long-term lots first"],
            wash_sale_risk=False,
            estimated_tax=D("150.00"),
        )
        return PlanReviewed(**common, review=review)
    if step == "execute-trades":
        execution = ExecutionResult(executed=not s.dry_run, dry_run=s.dry_run, fills=fills(simulated=s.dry_run))
        return TradesExecuted(**common, account_id="demo", result=execution)
    if step == "update-portfolio":
        return FillsApplied(
            **common,
            account_id="demo",
            cash_after=D("1099.11"),
            lots_after=3,
            realized_gain=D("999.40"),
            last_rebalanced=AS_OF,
            realized=REALIZED,
        )
    if step == "send-notifications":
        return Notified(**common, channels=["log"], errors=["webhook: 500"])
    raise AssertionError(f"no result for {step}")


def failure(record: RunRecord, step: str, *, retryable: bool, attempt: int | None = None) -> StepFailed:
    attempt = record.step(step).attempts if attempt is None else attempt
    return StepFailed(
        run_id=record.run_id,
        message_id=f"{record.run_id}:{step}:{attempt}:failed",
        occurred_at=NOW,
        step=step,
        attempt=attempt,
        service="svc",
        error="boom",
        retryable=retryable,
    )


def timer(record: RunRecord, step: str, kind: str, attempt: int) -> StepTimerFired:
    return StepTimerFired(
        run_id=record.run_id,
        message_id=f"{record.run_id}:{step}:{attempt}:{kind}",
        occurred_at=NOW,
        step=step,
        attempt=attempt,
        kind=kind,  # type: ignore[arg-type]
    )


def statuses(record: RunRecord) -> dict[str, str]:
    return {s.name: s.status for s in record.steps}


def running(record: RunRecord) -> list[str]:
    return [s.name for s in record.steps if s.status in ("running", "retrying")]


def report_inputs(record: RunRecord, s: Scenario = Scenario()) -> ReportInputs:
    """What the coordinator reads from the stored step outputs for the report (the scenario's answers)."""
    outputs: dict[str, object] = {step: result(record, step, s, attempt=1) for step in record.outputs}
    return ReportInputs.of(outputs, STALE)


def report(record: RunRecord, now: datetime, s: Scenario = Scenario()) -> RunRecord | None:
    """The coordinator's ``generate-report`` step: the report from the outputs, applied to the run."""
    return apply_report(record, build_report(record, report_inputs(record, s), now), now)


def drive(s: Scenario = Scenario(), *, stop_before: str | None = None) -> list[RunRecord]:
    """Every state of a run that answers each step once, in order: [start, after result 1, ...]."""
    record = start_run(requested(s), NOW)
    states = [record]
    tick = 0
    while True:
        pending = running(record)
        if not pending or pending[0] == stop_before:
            return states
        tick += 1
        if pending[0] == "generate-report":
            after = report(record, at(tick), s)
        else:
            after = apply_result(record, result(record, pending[0], s), at(tick))
        assert after is not None, pending[0]
        record = after
        states.append(record)
