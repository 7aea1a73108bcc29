"""The two run facades: build_tax_context (step tax-context) and evaluate_plan (step tax-optimization)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from services.tax.domain import (
    AccountType,
    Action,
    HarvestThresholds,
    Lot,
    LotMethod,
    ProposedBuy,
    ProposedSell,
    RecentTransaction,
    TaxAccount,
    TaxContext,
    TaxProfile,
    build_tax_context,
    evaluate_plan,
)
from shared.holding_period import Term

from .helpers import D

AS_OF = date(2026, 3, 2)
PROFILE = TaxProfile(taxable_income=D(185000), magi=D(185000), state_rate=D("0.05"))
PRICES = {"VTI": D(300), "VEA": D(50), "BND": D(70), "SPY": D(600), "IEFA": D(80), "IVV": D(600)}


def _account() -> TaxAccount:
    return TaxAccount(
        account_id="acct",
        lot_method=LotMethod.MIN_TAX,
        lots=(
            Lot(lot_id="vti-1", symbol="VTI", shares=D(10), cost_basis=D(2000), acquired=date(2021, 3, 15)),
            Lot(lot_id="vea-1", symbol="VEA", shares=D(100), cost_basis=D(6000), acquired=date(2025, 11, 3)),
            Lot(lot_id="bnd-1", symbol="BND", shares=D(100), cost_basis=D(8000), acquired=date(2021, 3, 15)),
        ),
    )


def _household() -> list[RecentTransaction]:
    return [
        # the IRA bought AGG (same index as BND) 10 days ago: a BND loss sale would be washed, permanently
        RecentTransaction(
            trade_date=AS_OF - timedelta(days=10),
            account_id="ira",
            account_type=AccountType.ROTH_IRA,
            symbol="AGG",
            action=Action.BUY,
            shares=D(20),
        ),
        # a spouse sold SPY at a loss 5 days ago: buying SPY, IVV or VOO before day +31 would wash it
        RecentTransaction(
            trade_date=AS_OF - timedelta(days=5),
            account_id="spouse",
            symbol="SPY",
            action=Action.SELL,
            shares=D(5),
            realized_gain=D(-400),
        ),
        RecentTransaction(
            trade_date=AS_OF - timedelta(days=45),
            account_id="spouse",
            symbol="VEA",
            action=Action.BUY,
            shares=D(5),
        ),  # outside the window
    ]


def _context() -> TaxContext:
    return build_tax_context(
        account=_account(),
        household_transactions=_household(),
        prices=PRICES,
        as_of=AS_OF,
        profile=PROFILE,
        thresholds=HarvestThresholds(min_loss_percent=D(5), min_loss_amount=D(500), trading_cost_bps=D(10)),
    )


def test_context_values_lots_rates_restrictions_and_candidates() -> None:
    ctx = build_tax_context(
        account=_account(), household_transactions=_household(), prices=PRICES, as_of=AS_OF, profile=PROFILE
    )
    lots = {p.lot_id: p for p in ctx.lots}
    assert lots["vti-1"].unrealized_gain == D(1000) and lots["vti-1"].term is Term.LONG
    vea = lots["vea-1"]
    assert (vea.unrealized_gain, vea.term, vea.long_term_date) == (D(-1000), Term.SHORT, date(2026, 11, 4))
    assert vea.days_to_long_term == (date(2026, 11, 4) - AS_OF).days
    assert (ctx.rates.short_term, ctx.rates.long_term) == (D("0.29"), D("0.20"))
    until = AS_OF - timedelta(days=5) + timedelta(days=31)
    assert {(r.symbol, r.until) for r in ctx.do_not_buy} == {("SPY", until), ("IVV", until), ("VOO", until)}
    (risk,) = ctx.washed_by_recent_purchase
    assert (risk.symbol, risk.purchase_symbol, risk.permanent) == ("BND", "AGG", True)
    # BND (loss 1,000) is blocked by the IRA purchase; VEA is harvested into IEFA
    (candidate,) = ctx.harvest_candidates
    assert (candidate.lot_id, candidate.replacement, candidate.loss) == ("vea-1", "IEFA", D(1000))
    # a round trip at the shared cost model's 5 bp half spread
    assert candidate.gross_saving == D(290) and candidate.trading_cost == D(5)
    assert candidate.net_saving == D(285)
    assert {r.symbol for r in candidate.do_not_buy} == {"VEA"}
    assert ctx.totals.harvestable_losses == D(1000) and ctx.totals.unrealized_losses == D(2000)


def test_replacement_skips_restricted_symbols() -> None:
    ctx = build_tax_context(
        account=TaxAccount(
            account_id="a",
            lots=(Lot(lot_id="x", symbol="VOO", shares=D(10), cost_basis=D(7000), acquired=date(2025, 1, 2)),),
        ),
        household_transactions=[
            RecentTransaction(
                trade_date=AS_OF,
                account_id="b",
                symbol="SCHX",
                action=Action.SELL,
                shares=D(1),
                realized_gain=D(-1),
            )
        ],
        prices=PRICES | {"VOO": D(600)},
        as_of=AS_OF,
        profile=PROFILE,
    )
    (candidate,) = ctx.harvest_candidates
    # us_large_cap outside sp500: SCHX (restricted by the loss sale), then RSP
    assert candidate.replacement == "RSP"


def test_plan_harvest_with_replacement_is_not_a_wash() -> None:
    ctx = _context()
    result = evaluate_plan(
        ctx,
        sells=[ProposedSell(symbol="VEA", shares=D(100), lot_id="vea-1")],
        buys=[ProposedBuy(symbol="IEFA", shares=D(60))],
    )
    (effect,) = result.effects
    assert (effect.gain, effect.term, effect.estimated_tax) == (D(-1000), Term.SHORT, D(-290))
    assert result.summary.harvestable_losses == D(1000) and result.summary.tax_savings == D(290)
    assert result.summary.wash_sale_risk is False
    assert [f.washed for f in result.wash_findings] == [False, False]
    assert any("Do not buy VEA" in r for r in result.summary.recommendations)


def test_plan_buying_back_the_same_fund_is_washed() -> None:
    result = evaluate_plan(
        _context(),
        sells=[ProposedSell(symbol="VEA", shares=D(100), lot_id="vea-1")],
        buys=[ProposedBuy(symbol="VEA", shares=D(40))],
    )
    sell, buy = result.wash_findings
    assert sell.washed and sell.disallowed_loss == D(400) and not sell.permanent
    assert buy.washed
    assert result.effects[0].gain == D(-600)
    assert result.summary.wash_sale_risk is True


def test_plan_buy_that_washes_a_household_loss_sale_and_ira_replacement() -> None:
    result = evaluate_plan(_context(), buys=[ProposedBuy(symbol="IVV", shares=D(1))])
    (finding,) = result.wash_findings
    assert finding.washed and "SPY" in finding.message
    assert result.summary.wash_sale_risk
    bnd = evaluate_plan(_context(), sells=[ProposedSell(symbol="BND", shares=D(100))])
    (finding,) = bnd.wash_findings
    assert finding.washed and finding.permanent and finding.disallowed_loss == D(1000) * 20 / 100


def test_plan_with_gains_and_unwashed_losses_has_no_wash_risk() -> None:
    result = evaluate_plan(_context(), sells=[ProposedSell(symbol="VTI", shares=D(10))])
    (effect,) = result.effects
    assert (effect.gain, effect.term, effect.estimated_tax) == (D(1000), Term.LONG, D(200))
    assert result.summary.harvestable_gains == D(1000) and result.summary.wash_sale_risk is False
    assert any("Consider harvesting" in r and "IEFA" in r for r in result.summary.recommendations)
    assert result.stacked_estimate.total == D(200)  # 15% federal + 5% state, no NIIT below 200k


def test_demo_household_contexts_build() -> None:
    path = Path(__file__).parents[3] / "shared" / "data" / "demo_household.json"
    household = json.loads(path.read_text())
    tp = household["tax_profile"]
    profile = TaxProfile(taxable_income=D(tp["taxable_income"]), magi=D(tp["magi"]), state_rate=D(tp["state_rate"]))
    for acct in household["accounts"]:
        lots = tuple(
            Lot(
                lot_id=lot["lot_id"],
                symbol=lot["symbol"],
                shares=D(lot["shares"]),
                cost_basis=D(lot["cost_basis"]),
                acquired=date.fromisoformat(lot["acquired"]),
            )
            for lot in acct["lots"]
        )
        prices = {lot.symbol: lot.basis_per_share * D("0.8") for lot in lots}
        ctx = build_tax_context(
            account=TaxAccount(
                account_id=acct["account_id"],
                account_type=AccountType(acct["account_type"]),
                lots=lots,
                lot_method=LotMethod.parse(acct["lot_method"]),
            ),
            prices=prices,
            as_of=date(2026, 5, 1),
            profile=profile,
        )
        assert ctx.totals.unrealized_losses > 0
        assert bool(ctx.harvest_candidates) is (acct["account_type"] == "taxable")
