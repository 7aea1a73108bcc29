"""Directions per identical group: harvesting inside a class, cash funds traded, classes without a buy."""

from __future__ import annotations

from decimal import Decimal

from services.rebalancing.domain import RebalanceMode, RebalancePlan, TradeAction
from shared.securities import default_securities
from tests.unit.rebalancing.helpers import PRICES, account, lot, plan

D = Decimal


def _by(p: RebalancePlan) -> dict[tuple[str, str], Decimal]:
    return {(t.symbol, t.action.value): t.shares for t in p.trades}


def test_loss_is_harvested_inside_an_underweight_class() -> None:
    # equity is underweight; VEA carries a short-term loss: sell it and buy VTI (another group)
    acct = account(
        lot("vti", "VTI", 100, 200, "2020-01-02"),  # $30,000, long-term gain
        lot("vea", "VEA", 200, 70, "2026-01-05"),  # $10,000, short-term loss $20/sh
        lot("bnd", "BND", 400, 75, "2021-01-04"),  # $30,000
        lot("vnq", "VNQ", 100, 90, "2021-01-04"),  # $9,000
        cash=1000,
    )
    p = plan(acct)
    trades = _by(p)
    assert trades[("VEA", "sell")] == D(200)  # the whole loss is realized
    assert ("VTI", "buy") in trades and ("VEA", "buy") not in trades
    assert p.estimated_tax < D(-1400)  # 200 x $20 x 37% saved
    assert abs(p.after["equity"] - 60) < 2
    sec = default_securities()
    bought = {sec.identical_group(t.symbol) for t in p.trades if t.action is TradeAction.BUY}
    sold = {sec.identical_group(t.symbol) for t in p.trades if t.action is TradeAction.SELL}
    assert not bought & sold


def test_cash_fund_is_sold_to_fix_an_underweight_class() -> None:
    # 25% in BIL against a 0% cash target, equity 15 points under: BIL funds the buys
    acct = account(
        lot("vti", "VTI", 150, 250, "2020-01-02"),  # $45,000
        lot("bnd", "BND", 400, 75, "2021-01-04"),  # $30,000
        lot("vnq", "VNQ", 111, 90, "2021-01-04"),  # ~$10,000
        lot("bil", "BIL", 330, 91, "2025-01-04"),  # ~$30,000
        cash=0,
    )
    p = plan(acct)
    trades = _by(p)
    assert trades[("BIL", "sell")] > D(300)
    assert ("VTI", "buy") in trades
    assert all(abs(p.after[c] - acct.target.get(c, D(0))) < 1 for c in p.after), p.after


def test_cash_fund_is_sold_in_threshold_mode_too() -> None:
    acct = account(
        lot("vti", "VTI", 150, 250, "2020-01-02"),
        lot("bnd", "BND", 400, 75, "2021-01-04"),
        lot("vnq", "VNQ", 111, 90, "2021-01-04"),
        lot("bil", "BIL", 330, 91, "2025-01-04"),
    )
    p = plan(acct, mode=RebalanceMode.THRESHOLD)
    assert ("BIL", "sell") in _by(p)
    assert abs(p.after["cash"]) <= 5


def test_excluded_default_buys_another_priced_security_of_the_class() -> None:
    acct = account(lot("vti", "VTI", 200, 250, "2020-01-02"), lot("bnd", "BND", 400, 75, "2021-01-04"))
    p = plan(acct, exclude_symbols=frozenset({"VNQ"}))
    assert ("SCHH", "buy") in _by(p)
    assert abs(p.after["reit"] - 10) < 1


def test_a_class_with_nothing_to_buy_is_named_in_a_warning() -> None:
    acct = account(lot("vti", "VTI", 200, 250, "2020-01-02"), lot("bnd", "BND", 400, 75, "2021-01-04"))
    prices = {s: v for s, v in PRICES.items() if s != "SCHH"}
    from services.rebalancing.domain import PlanOptions, plan_rebalance
    from tests.unit.rebalancing.helpers import AS_OF, TAX

    p = plan_rebalance(acct, prices, as_of=AS_OF, options=PlanOptions(exclude_symbols=frozenset({"VNQ"})), tax=TAX)
    warning = next(w for w in p.warnings if w.startswith("reit: target 10%"))
    assert "no security of the class can be bought" in warning
    assert "VNQ" in warning and "SCHH" in warning
    assert not any(t.symbol in ("VNQ", "SCHH") for t in p.trades)
