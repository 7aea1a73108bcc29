"""Fully populated, deterministic example of every message version, the run record and the report.

Every field of every struct is set (no ``None``, no empty list or dict, no default left in place), so a
golden file shows every field on the wire. :func:`test_examples_are_fully_populated` checks that.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypedDict

import msgspec

from contracts import (
    AccountSnapshot,
    AnalyzeMarket,
    AnalyzeMarketV2,
    ApplyFills,
    ApplyFillsV2,
    BatchRecord,
    BatchRequested,
    BuildTaxContext,
    BuildTaxContextV2,
    CommandBundle,
    ExecutedTrade,
    ExecuteTrades,
    ExecuteTradesV2,
    ExecutionResult,
    FetchMarketData,
    Fill,
    FillsApplied,
    HarvestCandidate,
    LoadPortfolio,
    Lot,
    LotSale,
    LotTax,
    MarketAnalyzed,
    MarketConditions,
    MarketDataFetched,
    MarketDataFetchedV2,
    Notified,
    Notify,
    PlanOptions,
    PlanRebalance,
    PlanRebalanceV2,
    PlanReviewed,
    PortfolioLoaded,
    PortfolioRisk,
    Quote,
    RealizedSale,
    RealizedSales,
    RebalancePlan,
    RebalancePlanned,
    RebalanceRequest,
    RebalanceRequested,
    Report,
    ReportAction,
    ReportAnalysis,
    ReportExecution,
    ReportGenerated,
    ReportLot,
    ResultBundle,
    ReviewPlan,
    ReviewPlanV2,
    RunApprovalDecided,
    RunCancelRequested,
    RunCompleted,
    RunFailed,
    RunRecord,
    ScheduledRun,
    StepFailed,
    StepRecord,
    StepTimerFired,
    TaxContext,
    TaxContextBuilt,
    TaxImplication,
    TaxOptimizationSummary,
    TaxProfile,
    TaxReview,
    Trade,
    TradeExecuted,
    TradeRejected,
    TradesExecuted,
    Transaction,
    UnfilledOrder,
    UnfilledTrade,
    WashSaleAdjustment,
    book,
)

D = Decimal
RUN = "run-0001"
AT = datetime(2026, 1, 5, 14, 30, 0, tzinfo=UTC)
LATER = datetime(2026, 1, 5, 14, 30, 2, 500000, tzinfo=UTC)
AS_OF = date(2026, 1, 2)


class _Env(TypedDict):
    """The envelope fields of a step's message, splatted into each struct below."""

    run_id: str
    message_id: str
    occurred_at: datetime
    step: str
    attempt: int


def _env(step: str, attempt: int = 2) -> _Env:
    return {
        "run_id": RUN,
        "message_id": f"{RUN}:{step}:{attempt}",
        "occurred_at": AT,
        "step": step,
        "attempt": attempt,
    }


REQUEST = RebalanceRequest(
    account_id="demo",
    force_rebalance=True,
    max_trade_amount=D("25000.00"),
    exclude_symbols=["VNQ"],
    dry_run=True,
    tax_optimization=False,
    risk_override="aggressive",
    mode="threshold",
    as_of=AS_OF,
    withdraw_amount=D("1234.56"),
    require_approval=True,
    approval_timeout_seconds=900.0,
    tenant="acme",
)
LOT = Lot(
    lot_id="demo-vti-1",
    symbol="VTI",
    shares=D("60"),
    cost_basis=D("12531.00"),
    acquired=date(2021, 3, 15),
    holding_period_start=date(2021, 3, 10),
    wash_sale_adjustment=D("12.34"),
)
TRANSACTION = Transaction(
    account_id="demo-ira",
    account_type="traditional_ira",
    date=date(2025, 12, 20),
    symbol="ITOT",
    action="sell",
    shares=D("10"),
    price=D("105.1234"),
    lot_id="ira-itot-1",
    realized_gain=D("-45.67"),
    run_id="run-0000",
    fees=D("0.11"),
)
PROFILE = TaxProfile(
    filing_status="mfj",
    taxable_income=D("185000"),
    magi=D("190000.50"),
    state_rate=D("0.05"),
    federal_short_term_rate=D("0.24"),
    federal_long_term_rate=D("0.15"),
)
ACCOUNT = AccountSnapshot(
    account_id="demo",
    household_id="demo-household",
    name="Demo taxable brokerage",
    account_type="roth_ira",
    risk_tolerance="conservative",
    rebalance_threshold=D("7.5"),
    cash=D("4000.00"),
    cash_reserve=D("250.00"),
    fractional=True,
    lot_method="min_tax",
    reinvest_dividends=True,
    last_rebalanced=date(2024, 1, 1),
    lots=[LOT],
    target={"equity": D("70"), "bond": D("20"), "reit": D("10")},
    model="moderate",
    tax_profile=PROFILE,
    do_not_buy={"VEA": date(2026, 2, 1)},
    revision=3,
    band_relative=D("0.25"),
    rebalance_to="band-edge",
    min_trade=D("250"),
    turnover_cap=D("20"),
    restricted_symbols=["XLE"],
    max_realized_gain=D("10000"),
    max_estimated_tax=D("1500"),
    broker_account="omnibus-1",
    tenant="acme",
    security_targets={"VTI": D("40"), "BND": D("20")},
    substitutes={"VTI": ["ITOT", "SCHB"]},
)
QUOTE = Quote(
    symbol="VTI",
    as_of=AS_OF,
    close=D("334.5600"),
    previous_close=D("330.0000"),
    change=D("4.5600"),
    change_percent=D("1.3818"),
    adjusted_close=D("333.1200"),
    stale=True,
    age_trading_days=2,
)
CONDITIONS = MarketConditions(
    market_sentiment="bearish",
    volatility_index=31.25,
    risk_recommendation="Volatility is high: postpone discretionary trades.",
    market_timing="poor",
    as_of=AS_OF,
    vix_percentile=0.875,
    realized_volatility=0.21,
    realized_volatility_percentile=0.75,
    trend=-0.0625,
)
RISK = PortfolioRisk(
    volatility=0.125,
    max_drawdown=-0.25,
    var_95=-0.015625,
    cvar_95=-0.03125,
    sharpe=0.5,
    beta=0.875,
    risk_contribution={"VTI": 0.75, "BND": 0.25},
    symbols=["BND", "VTI"],
    covariance=[[0.0025, 0.0005], [0.0005, 0.04]],
    start=date(2023, 1, 3),
    end=AS_OF,
    observations=752,
)
LOT_TAX = LotTax(
    lot_id="demo-vti-1",
    symbol="VTI",
    shares=D("60"),
    cost_basis=D("12531.00"),
    price=D("334.56"),
    market_value=D("20073.60"),
    unrealized_gain=D("7542.60"),
    term="short",
    days_to_long_term=17,
    loss_sale_would_wash=True,
)
HARVEST = HarvestCandidate(
    lot_id="demo-vea-2",
    symbol="VEA",
    shares=D("50"),
    loss=D("-312.50"),
    term="short",
    replacement="IEFA",
    estimated_saving=D("90.63"),
    reason="short-term loss of 312.50",
)
TAX_CONTEXT = TaxContext(
    as_of=AS_OF,
    taxable=True,
    short_term_rate=D("0.29"),
    long_term_rate=D("0.20"),
    lots=[LOT_TAX],
    do_not_buy={"VEA": date(2026, 2, 1)},
    wash_sale_blocked_symbols=["VEA"],
    harvest_candidates=[HARVEST],
    unrealized_gains=D("7542.60"),
    unrealized_losses=D("-312.50"),
    notes=["VEA was bought within 30 days"],
)
TAX_IMPLICATION = TaxImplication(gain_loss=D("1257.10"), tax_liability=D("251.42"), holding_period="mixed")
LOT_SALE = LotSale(
    lot_id="demo-vti-1",
    shares=D("10"),
    cost_basis=D("2088.50"),
    gain=D("1257.10"),
    term="short",
    acquired=date(2021, 3, 15),
)
TRADE = Trade(
    trade_id="t1",
    symbol="VTI",
    action="sell",
    shares=D("10"),
    price=D("334.56"),
    value=D("3345.60"),
    asset_class="equity",
    lots=[LOT_SALE],
    reason="equity is 5.2% above target",
    tax_implication=TAX_IMPLICATION,
)
PLAN_OPTIONS = PlanOptions(
    mode="harvest",
    max_trade_amount=D("25000.00"),
    exclude_symbols=["VNQ"],
    withdraw_amount=D("1234.56"),
    force=True,
)
PLAN = RebalancePlan(
    needs_rebalancing=True,
    deviations={"equity": D("5.2"), "bond": D("-5.2")},
    trades=[TRADE],
    estimated_tax=D("251.42"),
    estimated_costs=D("1.34"),
    before={"equity": D("75.2"), "bond": D("14.8")},
    after={"equity": D("70.0"), "bond": D("20.0")},
    solver="osqp",
    warnings=["VNQ excluded by the request"],
    portfolio_value=D("64321.09"),
    volatility_before=0.1234,
    volatility_after=0.1111,
)
WASH = WashSaleAdjustment(
    sold_lot_id="demo-vea-2",
    symbol="VEA",
    disallowed=D("312.50"),
    replacement_account_id="demo-ira",
    replacement_lot_id="ira-vea-1",
    permanent=True,
    reason="bought in the IRA within 30 days",
)
REVIEW = TaxReview(
    harvestable_gains=D("7542.60"),
    harvestable_losses=D("-312.50"),
    tax_savings=D("90.63"),
    recommendations=["Harvest the VEA loss into IEFA"],
    wash_sale_risk=True,
    estimated_tax=D("251.42"),
    realized_short_term=D("1257.10"),
    realized_long_term=D("10.00"),
    lots=[LOT_SALE],
    wash_sale_findings=["VEA: bought in demo-ira on 2025-12-20"],
    wash_sale_adjustments=[WASH],
    do_not_buy_after={"VTI": date(2026, 2, 4)},
)
FILL = Fill(
    order_id=f"{RUN}.t1",
    trade_id="t1",
    symbol="VTI",
    action="sell",
    shares=D("10"),
    price=D("334.5265"),
    commission=D("0.33"),
    value=D("3345.265"),
    filled_at=AT,
    simulated=True,
    broker_order_id="904837e3-3b76-47ec-b432-046db621571b",
)
UNFILLED = UnfilledOrder(
    trade_id="t3",
    symbol="BND",
    action="buy",
    planned=D("20"),
    ordered=D("12"),
    filled=D("5"),
    status="canceled",
    reason="canceled before it filled",
)
EXECUTION = ExecutionResult(
    executed=True,
    dry_run=True,
    fills=[FILL],
    rejected=["t2"],
    total_cost=D("3345.27"),
    total_commission=D("0.33"),
    errors=["t2: no market price for XYZ"],
    unfilled=[UNFILLED],
    broker="alpaca",
)
EXECUTED_TRADE = ExecutedTrade(
    symbol="VTI",
    action="sell",
    shares=D("10"),
    execution_price=D("334.5265"),
    timestamp=AT,
    order_id=f"{RUN}.t1",
    commission=D("0.33"),
)
REPORT = Report(
    account_id="demo",
    portfolio_value=D("64321.09"),
    analysis=ReportAnalysis(
        needs_rebalancing=True,
        deviations={"equity": D("5.2")},
        market_conditions=CONDITIONS,
        tax_optimization=TaxOptimizationSummary(
            harvestable_gains=D("7542.60"),
            harvestable_losses=D("-312.50"),
            tax_savings=D("90.63"),
            recommendations=["Harvest the VEA loss into IEFA"],
            wash_sale_risk=True,
            estimated_tax=D("251.42"),
            wash_sale_findings=["VEA: bought in demo-ira on 2025-12-20"],
            realized_short_term=D("-312.50"),
            realized_long_term=D("1845.20"),
            wash_sale_disallowed=D("40.00"),
            permanently_disallowed=D("40.00"),
            realized_from_ledger=True,
        ),
        should_rebalance=True,
        decision="forced by the request",
        risk=RISK,
    ),
    actions=[
        ReportAction(
            symbol="VTI",
            action="sell",
            shares=D("10"),
            estimated_value=D("3345.60"),
            reason="equity is 5.2% above target",
            price=D("334.56"),
            asset_class="equity",
            tax_implication=TAX_IMPLICATION,
            lots=[
                ReportLot(
                    lot_id="demo-vti-1",
                    shares=D("10"),
                    cost_basis=D("2088.50"),
                    gain_loss=D("1257.10"),
                    holding_period="short",
                    acquired=date(2021, 3, 15),
                    estimated_tax=D("251.42"),
                )
            ],
        )
    ],
    execution=ReportExecution(
        executed=True,
        dry_run=True,
        trades=[EXECUTED_TRADE],
        total_cost=D("3345.27"),
        errors=["t2: no market price for XYZ"],
        commissions=D("0.33"),
        simulated_trades=[EXECUTED_TRADE],
        unfilled=[
            UnfilledTrade(
                symbol="BND",
                action="buy",
                planned_shares=D("20"),
                ordered_shares=D("12"),
                filled_shares=D("5"),
                status="canceled",
                reason="canceled before it filled",
            )
        ],
        broker="alpaca",
    ),
    recommendations=["Harvest the VEA loss into IEFA", "Decision: forced by the request."],
    timestamp=AT,
    run_id=RUN,
    as_of=AS_OF,
    allocation_before={"equity": D("75.20")},
    allocation_after={"equity": D("70.00")},
    target_allocation={"equity": D("70")},
    estimated_tax=D("251.42"),
    estimated_costs=D("1.34"),
    solver="osqp",
    warnings=["VNQ excluded by the request"],
    volatility_before=0.1234,
    volatility_after=0.1111,
)
RUN_RECORD = RunRecord(
    run_id=RUN,
    status="failed",
    request=REQUEST,
    created_at=AT,
    updated_at=LATER,
    steps=[
        StepRecord(
            name="load-portfolio",
            status="retrying",
            attempts=2,
            started_at=AT,
            finished_at=LATER,
            duration_ms=2500.0,
            error="timed out after 30s (attempt 1)",
            detail="retrying",
        )
    ],
    current_step="load-portfolio",
    error="load-portfolio: account not found",
    failed_step="load-portfolio",
    source="http",
    as_of=AS_OF,
    account=ACCOUNT,
    household_activity=[TRANSACTION],
    quotes={"VTI": QUOTE},
    market_warnings=["VTI: close is 2 trading days old"],
    conditions=CONDITIONS,
    risk=RISK,
    tax_context=TAX_CONTEXT,
    plan=PLAN,
    review=REVIEW,
    should_rebalance=True,
    decision="forced by the request",
    execution=EXECUTION,
    report=REPORT,
    notifications=["webhook"],
    approval="approved by advisor@firm: looks right",
    chunk_id="batch-0001-00000-2",
    snapshot_id="2026-01-02-0123456789abcdef",
    outputs=["load-portfolio", "calculate-rebalancing"],
    taxable=True,
    needs_rebalancing=True,
    planned_trades=1,
    executed=True,
)

BATCH = "batch-0001"
BATCH_RECORD = BatchRecord(
    batch_id=BATCH,
    status="completed",
    request=REQUEST,
    states="cfx",
    max_in_flight=64,
    created_at=AT,
    updated_at=LATER,
    finished_at=LATER,
    source="http",
    release_step=25,
)

MESSAGES: list[msgspec.Struct] = [
    CommandBundle(
        run_id="batch-0001-00000-2",
        message_id="batch-0001-00000-2:calculate-rebalancing:1a2b3c4d",
        occurred_at=AT,
        step="calculate-rebalancing",
        commands=[msgspec.Raw(b'{"schema":"rebalancing.plan.v2","run_id":"r1"}')],
        inputs={"load-portfolio": ["batch-0001-00000-2.load-portfolio.5e6f7a8b"]},
    ),
    ResultBundle(
        run_id="batch-0001-00000-2",
        message_id="batch-0001-00000-2:calculate-rebalancing:1a2b3c4d:results",
        occurred_at=AT,
        step="calculate-rebalancing",
        service="rebalancing",
        results=[msgspec.Raw(b'{"schema":"step.failed.v1","run_id":"r1"}')],
    ),
    RebalanceRequested(run_id=RUN, message_id=f"{RUN}:requested", occurred_at=AT, request=REQUEST, source="http"),
    BatchRequested(
        run_id=BATCH,
        message_id=BATCH,
        occurred_at=AT,
        account_ids=["demo", "demo-growth", "demo-ira"],
        request=REQUEST,
        max_in_flight=64,
        source="http",
    ),
    RunCancelRequested(run_id=RUN, message_id=f"{RUN}:cancel", occurred_at=AT, reason="client asked"),
    RunApprovalDecided(
        run_id=RUN, message_id=f"{RUN}:approval", occurred_at=AT, approved=True, by="advisor@firm", reason="ok"
    ),
    ScheduledRun(
        run_id="schedule:nightly",
        message_id="schedule:nightly:1",
        occurred_at=AT,
        name="nightly",
        cron="0 30 21 * * 1-5",
        request=REQUEST,
        created_by="ops",
    ),
    TradeExecuted(**_env("execute-trades"), account_id="demo", fill=FILL),
    TradeRejected(**_env("execute-trades"), account_id="demo", trade=TRADE, reason="no price"),
    ReportGenerated(**_env("generate-report"), account_id="demo", report=REPORT),
    RunCompleted(**_env("generate-report"), account_id="demo", executed=True, trades=1),
    RunFailed(**_env("load-portfolio"), account_id="demo", failed_step="load-portfolio", error="not found"),
    StepFailed(
        **_env("tax-context"), service="tax", error="rates missing", retryable=True, error_type="TransientError"
    ),
    StepTimerFired(
        run_id=RUN,
        message_id=f"{RUN}:tax-context:3:retry",
        occurred_at=AT,
        step="tax-context",
        attempt=3,
        kind="retry",
    ),
    LoadPortfolio(**_env("load-portfolio"), account_id="demo", risk_override="aggressive", as_of=AS_OF),
    PortfolioLoaded(**_env("load-portfolio"), account=ACCOUNT, household_activity=[TRANSACTION]),
    ApplyFills(**_env("update-portfolio"), account_id="demo", as_of=AS_OF, trades=[TRADE], fills=[FILL], review=REVIEW),
    FillsApplied(
        **_env("update-portfolio"),
        account_id="demo",
        cash_after=D("7345.27"),
        lots_after=7,
        realized_gain=D("1257.10"),
        last_rebalanced=AS_OF,
        already_applied=True,
        realized=RealizedSales(
            realized_short_term=D("-312.50"),
            realized_long_term=D("1845.20"),
            wash_sale_disallowed=D("40.00"),
            permanently_disallowed=D("40.00"),
            sales=[
                RealizedSale(
                    symbol="VEA",
                    lot_id="lot-vea-1",
                    shares=D("25"),
                    acquired=date(2025, 11, 3),
                    term="short",
                    proceeds=D("1187.50"),
                    cost_basis=D("1540.00"),
                    gain=D("-312.50"),
                    wash_sale_disallowed=D("40.00"),
                    permanently_disallowed=D("40.00"),
                )
            ],
        ),
    ),
    FetchMarketData(**_env("fetch-market-data"), symbols=["BND", "VTI"], as_of=AS_OF),
    MarketDataFetched(**_env("fetch-market-data"), as_of=AS_OF, quotes={"VTI": QUOTE}, warnings=["VTI is stale"]),
    AnalyzeMarket(
        **_env("analyze-market-conditions"),
        as_of=AS_OF,
        weights={"VTI": D("0.6"), "BND": D("0.4")},
        universe=["BND", "VTI"],
        snapshot_id="2026-01-02-0123456789abcdef",
    ),
    MarketAnalyzed(**_env("analyze-market-conditions"), conditions=CONDITIONS, risk=RISK),
    BuildTaxContext(
        **_env("tax-context"),
        account=ACCOUNT,
        household_activity=[TRANSACTION],
        prices={"VTI": D("334.56")},
        as_of=AS_OF,
    ),
    TaxContextBuilt(**_env("tax-context"), context=TAX_CONTEXT),
    ReviewPlan(
        **_env("tax-optimization"),
        account=ACCOUNT,
        household_activity=[TRANSACTION],
        context=TAX_CONTEXT,
        plan=PLAN,
        as_of=AS_OF,
    ),
    PlanReviewed(**_env("tax-optimization"), review=REVIEW),
    PlanRebalance(
        **_env("calculate-rebalancing"),
        account=ACCOUNT,
        prices={"VTI": D("334.56")},
        as_of=AS_OF,
        options=PLAN_OPTIONS,
        tax=TAX_CONTEXT,
        risk=RISK,
    ),
    RebalancePlanned(**_env("calculate-rebalancing"), plan=PLAN),
    ExecuteTrades(
        **_env("execute-trades"),
        account_id="demo",
        as_of=AS_OF,
        trades=[TRADE],
        prices={"VTI": D("334.56")},
        dry_run=True,
        batch_id="batch-2026-05-01",
        block=True,
        block_size=3,
    ),
    TradesExecuted(**_env("execute-trades"), account_id="demo", result=EXECUTION),
    Notify(
        **_env("send-notifications"),
        account_id="demo",
        status="failed",
        message="Portfolio rebalancing failed",
        report=REPORT,
    ),
    Notified(**_env("send-notifications"), channels=["webhook"], errors=["email: not configured"]),
    MarketDataFetchedV2(**_env("fetch-market-data"), as_of=AS_OF, snapshot_id="2026-01-02-0123456789abcdef"),
    AnalyzeMarketV2(**_env("analyze-market-conditions"), as_of=AS_OF, snapshot_id="2026-01-02-0123456789abcdef"),
    BuildTaxContextV2(**_env("tax-context"), as_of=AS_OF, snapshot_id="2026-01-02-0123456789abcdef"),
    PlanRebalanceV2(
        **_env("calculate-rebalancing"),
        as_of=AS_OF,
        snapshot_id="2026-01-02-0123456789abcdef",
        options=PLAN_OPTIONS,
    ),
    ReviewPlanV2(**_env("tax-optimization"), as_of=AS_OF),
    ExecuteTradesV2(
        **_env("execute-trades"),
        account_id="demo",
        as_of=AS_OF,
        snapshot_id="2026-01-02-0123456789abcdef",
        dry_run=False,
        batch_id="batch-2026-05-01",
        block=True,
        block_size=3,
    ),
    ApplyFillsV2(**_env("update-portfolio"), account_id="demo", as_of=AS_OF),
]


_DOCUMENT = {"account_id": "demo", "household_id": "demo-household", "lots": [{"lot_id": "L1", "shares": "10"}]}
BOOK_QUERIES: dict[str, msgspec.Struct] = {
    "portfolio.book-object-query.v1": book.BookObjectQuery(kind="account", id="demo", tenant="acme"),
    "portfolio.book-object.v1": book.BookObject(kind="household", id="demo-household", revision=7, document=_DOCUMENT),
    "portfolio.put-accounts.v1": book.PutAccounts(
        request_id="import-2026-05-01",
        tenant="acme",
        accounts=[
            book.AccountWrite(account_id="demo", document=_DOCUMENT, merge=True, expected_revision=12),
        ],
        households=[
            book.HouseholdWrite(
                household_id="demo-household",
                document={"tax_profile": {"filing_status": "mfj"}},
                merge=True,
                expected_revision=3,
            )
        ],
        models=[
            book.ModelWrite(
                name="growth",
                document={"targets": {"equity": "90", "bond": "10"}},
                expected_revision=2,
            )
        ],
        dry_run=True,
    ),
    "portfolio.put-accounts-reply.v1": book.PutAccountsReply(
        request_id="import-2026-05-01",
        outcome="stale",
        problems=[book.FieldProblem(path="accounts[0].lots[2].shares", message="must be positive")],
        stale=[book.StaleWrite(kind="account", id="demo", expected_revision=12, revision=14)],
        changes=[
            book.BookChange(
                kind="account", id="demo", change="changed", household_id="demo-household", fields=["cash", "lots"]
            )
        ],
        revisions={"account.demo": 15},
        already_applied=True,
    ),
    "portfolio.load-book.v1": book.LoadBook(
        request_id="load-1",
        tenant="acme",
        book={"households": [{"household_id": "demo-household", "accounts": [_DOCUMENT]}]},
        mode="replace",
        dry_run=True,
    ),
    "portfolio.record-transaction.v1": book.RecordTransaction(
        account_id="demo",
        client_transaction_id="custodian-8841",
        type="sell",
        date=date(2026, 1, 2),
        tenant="acme",
        symbol="VTI",
        shares=D("12.5"),
        price=D("301.25"),
        fees=D("4.95"),
        amount=D("3765.63"),
    ),
    "portfolio.transaction-recorded.v1": book.TransactionRecorded(
        account_id="demo",
        client_transaction_id="custodian-8841",
        type="sell",
        cash_after=D("7765.63"),
        revision=9,
        already_recorded=True,
        lots=["lot-1", "lot-2"],
        realized_gain=D("-120.40"),
    ),
}
"""The book queries of :mod:`contracts.book` (untagged: request-reply bodies), each under a fixed name."""


def golden_name(value: msgspec.Struct) -> str:
    """The golden file's stem: the schema tag of a message, else a fixed name of the untagged struct."""
    for name, example in BOOK_QUERIES.items():
        if example is value:
            return name
    if isinstance(value, RunRecord):
        return "run-record.v1"
    if isinstance(value, Report):
        return "report.v1"
    if isinstance(value, BatchRecord):
        return "batch-record.v1"
    tag = type(value).__struct_config__.tag
    assert isinstance(tag, str), type(value)
    return tag


EXAMPLES: dict[str, msgspec.Struct] = {
    golden_name(v): v for v in [*MESSAGES, RUN_RECORD, REPORT, BATCH_RECORD, *BOOK_QUERIES.values()]
}
