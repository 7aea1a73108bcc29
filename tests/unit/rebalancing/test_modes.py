from decimal import Decimal

from services.rebalancing.domain import RebalanceMode, TaxInputs, TradeAction

from .helpers import TAX, account, equity_heavy, lot, plan, trades_by

D = Decimal


def _max_dev(p) -> Decimal:  # type: ignore[no-untyped-def]
    return max(
        abs(p.after[c] - t) for c, t in {"equity": D(60), "bond": D(30), "reit": D(10), "commodity": D(0)}.items()
    )


def test_full_optimizer_reaches_target_and_prefers_cheap_lots() -> None:
    p = plan(equity_heavy())
    assert p.solver == "osqp"
    assert _max_dev(p) < D(1)
    sells = [t for t in p.trades if t.action is TradeAction.SELL]
    assert sells and all(t.symbol in {"VTI", "VEA"} for t in sells)
    sold_lots = {lot.lot_id for t in sells for lot in t.lots}
    assert "vti-loss" in sold_lots or "vea-1" in sold_lots  # the cheap lots
    heuristic = plan(equity_heavy(), method="heuristic")
    assert p.estimated_tax <= heuristic.estimated_tax


def test_heuristic_spreads_over_every_holding_of_the_class() -> None:
    acct = account(
        lot("a", "VTI", 100, 200, "2020-01-01"),
        lot("b", "BND", 20, 70, "2020-01-01"),
        lot("c", "AGG", 20, 90, "2020-01-01"),
        lot("d", "VNQ", 30, 80, "2020-01-01"),
    )
    for method in ("heuristic", "optimizer"):
        p = plan(acct, method=method)
        buys = {t.symbol for t in p.trades if t.action is TradeAction.BUY}
        assert {"BND", "AGG"} <= buys, method


def test_class_without_holding_buys_default_then_next_when_excluded() -> None:
    acct = account(lot("a", "VTI", 100, 200, "2020-01-01"), lot("b", "BND", 100, 70, "2020-01-01"))
    p = plan(acct, method="heuristic")
    assert ("VNQ", "buy") in trades_by(p)
    p2 = plan(acct, method="heuristic", exclude_symbols=frozenset({"VNQ"}))
    assert ("SCHH", "buy") in trades_by(p2)
    assert ("VNQ", "buy") not in trades_by(p2)


def test_threshold_mode_leaves_in_band_classes() -> None:
    acct = account(
        lot("a", "VTI", 140, 200, "2020-01-01"),  # 42000 -> 70%
        lot("b", "BND", 200, 70, "2020-01-01"),  # 15000 -> 25%
        lot("c", "VNQ", 33, 80, "2020-01-01"),  # 2970 -> ~5%
    )
    p = plan(acct, mode=RebalanceMode.THRESHOLD)
    assert p.needs_rebalancing
    symbols = {t.symbol for t in p.trades}
    assert "VTI" in symbols


def test_buy_only_invests_cash_most_underweight_first_and_never_sells() -> None:
    acct = account(
        lot("a", "VTI", 100, 200, "2020-01-01"),
        lot("b", "BND", 100, 70, "2020-01-01"),
        lot("c", "VNQ", 10, 80, "2020-01-01"),
        cash=3000,
    )
    p = plan(acct, mode=RebalanceMode.BUY_ONLY)
    assert all(t.action is TradeAction.BUY for t in p.trades)
    assert p.trades[0].symbol in {"BND", "VNQ"}
    bought = {t.symbol: t.value for t in p.trades}
    assert "BND" in bought  # bond is the most underweight
    assert p.cash_after >= 0
    assert p.estimated_tax == 0


def test_sell_only_raises_withdrawal_losses_first_then_smallest_gains() -> None:
    p = plan(equity_heavy(), mode=RebalanceMode.SELL_ONLY, withdraw_amount=D(9000))
    assert all(t.action is TradeAction.SELL for t in p.trades)
    assert p.cash_after >= 0
    lots = [lot.lot_id for t in p.trades for lot in t.lots]
    assert {"vti-loss", "bnd-1"} <= set(lots)
    assert "vti-new" not in lots  # short-term gain avoided while others do
    assert "withdrawal" in p.trades[0].reason


def test_harvest_and_harvest_reinvest() -> None:
    tax = TaxInputs(
        short_term_rate=D("0.37"), long_term_rate=D("0.15"), harvest_lot_ids=("vti-loss", "bnd-1", "vti-old")
    )
    h = plan(equity_heavy(), tax=tax, mode=RebalanceMode.HARVEST)
    assert {t.symbol for t in h.trades} == {"VTI", "BND"}
    assert all(t.action is TradeAction.SELL for t in h.trades)
    assert h.estimated_tax < 0
    assert any("no loss" in w for w in h.warnings)
    r = plan(equity_heavy(), tax=tax, mode=RebalanceMode.HARVEST_REINVEST)
    buys = {t.symbol for t in r.trades if t.action is TradeAction.BUY}
    assert buys and not buys & {"VTI", "BND", "AGG"}  # AGG is identical to BND
    assert "ITOT" in buys


def test_harvest_reinvest_uses_given_replacement_unless_do_not_buy() -> None:
    tax = TaxInputs(harvest_lot_ids=("bnd-1",), replacements={"BND": "IEF"}, do_not_buy=frozenset({"IEF"}))
    r = plan(equity_heavy(), tax=tax, mode=RebalanceMode.HARVEST_REINVEST)
    assert not any(t.action is TradeAction.BUY for t in r.trades)
    assert any("replacement" in w for w in r.warnings)


def test_naive_method_sells_first_holding_fifo() -> None:
    p = plan(equity_heavy(), method="naive")
    sells = [t for t in p.trades if t.action is TradeAction.SELL]
    assert [t.symbol for t in sells] == ["VEA", "VTI"]  # VEA (first) runs out, then VTI
    vea = sells[0]
    assert vea.shares == 200  # the whole first holding
    assert sells[1].lots[0].lot_id == "vti-old"  # FIFO: the oldest lot first


def test_tax_free_account_estimates_no_tax() -> None:
    acct = account(*equity_heavy().lots, cash=1000, taxable=False)
    p = plan(acct)
    assert p.estimated_tax == 0
    assert all("tax-advantaged" in t.reason for t in p.trades if t.action is TradeAction.SELL)


def test_tax_none_is_accepted() -> None:
    p = plan(equity_heavy(), tax=None)
    assert p.estimated_tax == 0 and p.trades
    _ = TAX
