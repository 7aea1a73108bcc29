import json
from decimal import Decimal

import numpy as np
import pytest

from services.rebalancing.domain import (
    Covariance,
    InvalidAccountError,
    InvalidOptionsError,
    MissingPriceError,
    RebalanceMode,
    TaxBudget,
    TaxInputs,
    TradeAction,
)
from services.rebalancing.domain.book import build_book
from services.rebalancing.domain.cvxpy_backend import solve_cvxpy
from services.rebalancing.domain.model import PlanOptions
from services.rebalancing.domain.optimizer import prepare_qp
from services.rebalancing.domain.osqp_backend import solve_osqp
from shared.securities import default_securities

from .helpers import AS_OF, PRICES, TAX, account, equity_heavy, lot, plan, trades_by

D = Decimal


@pytest.mark.parametrize("method", ["optimizer", "heuristic"])
def test_cash_reserve_is_kept(method: str) -> None:
    acct = account(*equity_heavy().lots, cash=1000, cash_reserve=D(5000))
    p = plan(acct, method=method)
    assert p.cash_after >= D(5000)


def test_min_trade_and_improvement_threshold_drop_small_trades() -> None:
    p = plan(equity_heavy(), min_trade=D(3000))
    assert all(t.value >= 3000 for t in p.trades)
    q = plan(equity_heavy(), improvement_threshold=D(5))
    total = sum(plan(equity_heavy()).before.values())
    assert total and all(t.value * 100 / D(70100) >= 5 for t in q.trades)


def test_whole_shares_unless_fractional() -> None:
    p = plan(equity_heavy())
    assert all(t.shares == t.shares.to_integral_value() for t in p.trades)
    f = plan(account(*equity_heavy().lots, cash=1000, fractional=True))
    assert any(t.shares != t.shares.to_integral_value() for t in f.trades)
    assert max(abs(f.after[c] - t) for c, t in {"equity": D(60), "bond": D(30), "reit": D(10)}.items()) < D("0.2")


@pytest.mark.parametrize("method", ["optimizer", "heuristic"])
def test_max_trade_amount_caps_each_trade(method: str) -> None:
    p = plan(equity_heavy(), method=method, max_trade_amount=D(2500))
    assert p.trades and all(t.value <= 2500 for t in p.trades)


def test_turnover_cap() -> None:
    p = plan(equity_heavy(), turnover_cap=D(10))
    traded = sum(t.value for t in p.trades)
    assert traded <= D("0.10") * D(70100) + 1
    h = plan(equity_heavy(), turnover_cap=D(10), method="heuristic")
    assert sum(t.value for t in h.trades) <= D("0.10") * D(70100) + 1
    assert any("turnover" in w for w in h.warnings)


@pytest.mark.parametrize("method", ["optimizer", "heuristic"])
def test_excluded_restricted_and_do_not_buy_never_bought(method: str) -> None:
    tax = TaxInputs(short_term_rate=D("0.37"), long_term_rate=D("0.15"), do_not_buy=frozenset({"BND"}))
    p = plan(
        equity_heavy(),
        tax=tax,
        method=method,
        exclude_symbols=frozenset({"VEA"}),
        restricted_symbols=frozenset({"AGG"}),
    )
    symbols = {t.symbol for t in p.trades}
    assert "VEA" not in symbols
    assert ("BND", "buy") not in trades_by(p) and ("AGG", "buy") not in trades_by(p)


def test_tax_budget_caps_net_gain_and_tax() -> None:
    free = plan(equity_heavy())
    capped = plan(equity_heavy(), tax_budget=TaxBudget(max_net_gain=D(0)))
    assert capped.realized_gain <= 0 < free.realized_gain or free.realized_gain <= 0
    t = plan(equity_heavy(), tax_budget=TaxBudget(max_tax=D(100)))
    assert t.estimated_tax <= 100
    h = plan(equity_heavy(), method="heuristic", tax_budget=TaxBudget(max_tax=D(100)))
    assert h.estimated_tax <= 100


def test_reasons_name_drift_lots_and_tax() -> None:
    p = plan(equity_heavy())
    for t in p.trades:
        assert "pts" in t.reason and "target" in t.reason
        if t.action is TradeAction.SELL:
            assert "sells lots" in t.reason and ("tax" in t.reason or "loss" in t.reason)
            for sale in t.lots:
                assert sale.lot_id in t.reason


def test_json_shape_uses_decimal_strings() -> None:
    doc = plan(equity_heavy()).to_json_dict()
    assert set(doc) >= {
        "needs_rebalancing",
        "deviations",
        "trades",
        "estimated_tax",
        "estimated_costs",
        "before",
        "after",
        "solver",
    }
    trade = doc["trades"][0]
    assert set(trade) == {"symbol", "action", "shares", "price", "value", "lots", "reason"}
    assert isinstance(trade["value"], str) and isinstance(doc["estimated_tax"], str)
    json.dumps(doc)


def test_fallback_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import services.rebalancing.domain.facade as facade

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("solver broke")

    monkeypatch.setattr(facade, "optimizer_intent", boom)
    p = plan(equity_heavy())
    assert p.solver.startswith("heuristic (fallback: RuntimeError: solver broke")
    assert p.trades


def test_osqp_direct_matches_cvxpy_reference() -> None:
    book = build_book(equity_heavy(), PRICES, as_of=AS_OF, securities=default_securities(), tax=TAX)
    qp, _ = prepare_qp(book, PlanOptions(), TAX, None)
    b1, s1 = solve_osqp(qp)
    b2, s2, _ = solve_cvxpy(qp, solver="CLARABEL")
    assert np.allclose(b1, b2, atol=1e-4) and np.allclose(s1 @ qp.tax, s2 @ qp.tax, atol=1e-5)
    p = plan(equity_heavy(), backend="cvxpy")
    assert p.solver == "cvxpy/CLARABEL"


def test_covariance_is_used() -> None:
    symbols = ("VTI", "VEA", "BND", "VNQ")
    cov = Covariance(symbols=symbols, matrix=np.diag([0.03, 0.04, 0.003, 0.05]))
    from services.rebalancing.domain import plan_rebalance

    p = plan_rebalance(equity_heavy(), PRICES, as_of=AS_OF, options=PlanOptions(), tax=TAX, covariance=cov)
    assert p.solver == "osqp" and p.trades


def test_bad_inputs_raise_planning_errors() -> None:
    with pytest.raises(InvalidAccountError):
        plan(account(lot("a", "VTI", -1, 10, "2020-01-01")))
    with pytest.raises(InvalidAccountError):
        plan(account(lot("a", "VTI", 1, 10, "2020-01-01"), target={"equity": D(50)}))
    with pytest.raises(MissingPriceError):
        plan(account(lot("a", "QQQ", 1, 10, "2020-01-01")))
    with pytest.raises(InvalidOptionsError):
        plan(equity_heavy(), withdraw_amount=D(10))
    with pytest.raises(InvalidOptionsError):
        plan(equity_heavy(), mode=RebalanceMode.FULL, method="magic")


def test_withdrawal_with_min_trade_keeps_the_last_sale() -> None:
    # the withdrawal needs a small last sale; min_trade raises it rather than dropping it
    from services.rebalancing.domain import RebalanceMode

    acct = account(lot("b1", "BND", 10, 70, "2021-01-04"), lot("v1", "VTI", 50, 250, "2020-01-02"), cash=0)
    p = plan(acct, mode=RebalanceMode.SELL_ONLY, withdraw_amount=D(900), min_trade=D(500))
    assert p.cash_after >= 0
    assert all(t.value >= 500 for t in p.trades)
    assert sum(t.value for t in p.trades) >= 900


def test_withdrawal_beyond_the_turnover_cap_is_refused() -> None:
    from services.rebalancing.domain import RebalanceMode, WithdrawalError

    with pytest.raises(WithdrawalError, match=r"cannot raise the \$20000.00 withdrawal.*turnover cap of 10%"):
        plan(equity_heavy(), mode=RebalanceMode.SELL_ONLY, withdraw_amount=D(20000), turnover_cap=D(10))


def test_withdrawal_beyond_the_holdings_is_refused() -> None:
    from services.rebalancing.domain import RebalanceMode, WithdrawalError

    with pytest.raises(WithdrawalError, match=r"cash and holdings \(without VTI\) are worth"):
        plan(equity_heavy(), mode=RebalanceMode.SELL_ONLY, withdraw_amount=D(30000), exclude_symbols=frozenset({"VTI"}))


def test_turnover_scaling_leaves_no_trade_below_min_trade() -> None:
    p = plan(equity_heavy(), turnover_cap=D(6), min_trade=D(1000), method="heuristic")
    assert p.trades
    assert all(t.value >= 1000 for t in p.trades)
