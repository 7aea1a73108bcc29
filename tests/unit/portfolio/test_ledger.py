"""Applying fills to lots and cash: exact, checked, idempotent per run.

Identity checked by the property test (all amounts exact Decimals, ``net proceeds`` = shares * price -
commission of each sell, ``cost`` = shares * price + commission of each buy, ``settle`` = to the cent,
half-even, per fill)::

    cash_after  = cash_before + sum(settle(net_proceeds)) - sum(settle(cost))
    basis_after = basis_before - basis_sold + cost
    realized    = net_proceeds - basis_sold
    => basis_after + cash_after - realized == basis_before + cash_before + settlement differences
       (each fill's settle(amount) - amount, at most half a cent)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import AccountSnapshot, Fill, Lot, LotSale, TaxReview, Trade
from services.portfolio.domain import AccountState, apply_fills
from shared.errors import DomainError
from shared.money import settle

D = Decimal
AS_OF = date(2026, 1, 5)
AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def _state(lots: list[Lot], cash: str = "100.00") -> AccountState:
    return AccountState(account=AccountSnapshot(account_id="a1", household_id="h", cash=D(cash), lots=lots, revision=4))


LOTS = [
    Lot(lot_id="A", symbol="VTI", shares=D(10), cost_basis=D("1000.00"), acquired=date(2020, 1, 2)),
    Lot(lot_id="B", symbol="VTI", shares=D(3), cost_basis=D("100.00"), acquired=date(2025, 6, 2)),
    Lot(lot_id="C", symbol="BND", shares=D(7), cost_basis=D("500.01"), acquired=date(2021, 1, 4)),
]


def _sell(trade_id: str, symbol: str, lots: list[tuple[str, int]]) -> Trade:
    shares = D(sum(n for _, n in lots))
    return Trade(
        trade_id=trade_id,
        symbol=symbol,
        action="sell",
        shares=shares,
        price=D(1),
        value=shares,
        lots=[LotSale(lot_id=lot_id, shares=D(n)) for lot_id, n in lots],
    )


def _buy(trade_id: str, symbol: str, shares: int) -> Trade:
    return Trade(trade_id=trade_id, symbol=symbol, action="buy", shares=D(shares), price=D(1), value=D(shares))


def _fill(trade: Trade, price: str, commission: str, shares: Decimal | None = None) -> Fill:
    shares = trade.shares if shares is None else shares
    return Fill(
        order_id=f"o-{trade.trade_id}",
        trade_id=trade.trade_id,
        symbol=trade.symbol,
        action=trade.action,
        shares=shares,
        price=D(price),
        commission=D(commission),
        value=shares * D(price),
        filled_at=AT,
    )


def _lots(state: AccountState) -> dict[str, tuple[Decimal, Decimal]]:
    return {lot.lot_id: (lot.shares, lot.cost_basis) for lot in state.account.lots}


def test_sells_relieve_the_plans_lots_pro_rata() -> None:
    sell = _sell("t1", "VTI", [("A", 4), ("B", 1)])
    update = apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[sell], fills=[_fill(sell, "120", "0.60")])
    assert _lots(update.state) == {
        "A": (D(6), D("600.00")),
        "B": (D(2), D("66.67")),  # 100.00 - cents(100.00 / 3)
        "C": (D(7), D("500.01")),
    }
    # net proceeds 599.40, split pro rata to cents; the last lot takes the remainder
    assert update.state.account.cash == D("699.40")
    sells = update.state.transactions
    assert [(t.lot_id, t.shares, t.realized_gain) for t in sells] == [
        ("A", D(4), D("79.52")),  # 479.52 - 400.00
        ("B", D(1), D("86.55")),  # 119.88 - 33.33
    ]
    assert update.realized_gain == D("166.07")
    assert all(t.action == "sell" and t.run_id == "r1" and t.date == AS_OF for t in sells)
    assert update.state.account.last_rebalanced == AS_OF
    assert update.state.account.revision == 5
    assert update.state.applied_runs == ["r1"]
    assert update.already_applied is False


def test_selling_a_whole_lot_removes_it() -> None:
    sell = _sell("t1", "BND", [("C", 7)])
    update = apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[sell], fills=[_fill(sell, "80", "0")])
    assert "C" not in _lots(update.state)
    assert update.realized_gain == D(560) - D("500.01")


def test_a_partial_fill_relieves_the_plans_lots_in_order() -> None:
    sell = _sell("t1", "VTI", [("A", 4), ("B", 2)])
    fill = _fill(sell, "100", "0", shares=D(5))
    update = apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[sell], fills=[fill])
    assert _lots(update.state)["A"][0] == D(6)
    assert _lots(update.state)["B"][0] == D(2)


def test_buys_open_a_lot_at_price_plus_commission() -> None:
    buy = _buy("t2", "BND", 2)
    update = apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[buy], fills=[_fill(buy, "45.1234", "0.01")])
    new = next(lot for lot in update.state.account.lots if lot.lot_id == "r1-t2")
    assert (new.symbol, new.shares, new.cost_basis, new.acquired) == ("BND", D(2), D("90.2568"), AS_OF)
    assert update.state.account.cash == D("100.00") - D("90.26")  # the cost, 90.2568, settled to the cent
    assert update.realized_gain == D(0)
    assert [(t.action, t.lot_id, t.price) for t in update.state.transactions] == [("buy", "r1-t2", D("45.1234"))]


@pytest.mark.parametrize(
    ("action", "price", "commission", "cash_after"),
    [
        ("buy", "45.1225", "0", "9.76"),  # costs 90.245: half-even to 90.24 (half up would take 90.25)
        ("buy", "45.1275", "0", "9.74"),  # costs 90.255: to 90.26
        ("buy", "45.1234", "0.0049", "9.75"),  # costs 90.2517: to 90.25
        ("sell", "10.0025", "0", "120.00"),  # raises 20.005: half-even to 20.00
        ("sell", "10.0075", "0", "120.02"),  # raises 20.015: to 20.02
        ("sell", "10.01", "0.0049", "120.02"),  # raises 20.0151: to 20.02
    ],
)
def test_cash_is_settled_to_the_cent_half_even_per_fill(
    action: str, price: str, commission: str, cash_after: str
) -> None:
    trade = _buy("t", "BND", 2) if action == "buy" else _sell("t", "VTI", [("A", 2)])
    update = apply_fills(
        _state(LOTS), run_id="r1", as_of=AS_OF, trades=[trade], fills=[_fill(trade, price, commission)]
    )
    assert update.state.account.cash == D(cash_after)
    if action == "buy":  # the lot's basis keeps the exact cost
        new = next(lot for lot in update.state.account.lots if lot.lot_id == "r1-t")
        assert new.cost_basis == 2 * D(price) + D(commission)


def test_a_buy_needs_its_settled_cost_in_cash() -> None:
    buy = _buy("t", "BND", 2)
    state = _state(LOTS, cash="90.24")
    assert apply_fills(state, run_id="r1", as_of=AS_OF, trades=[buy], fills=[_fill(buy, "45.1225", "0")])
    with pytest.raises(DomainError, match=r"costs 90\.25, cash is 90\.24"):
        apply_fills(state, run_id="r1", as_of=AS_OF, trades=[buy], fills=[_fill(buy, "45.1250", "0")])


def test_sells_pay_for_buys_whatever_the_order_of_fills() -> None:
    sell = _sell("z-sell", "VTI", [("A", 2)])
    buy = _buy("a-buy", "BND", 3)
    fills = [_fill(buy, "70", "0.02"), _fill(sell, "110", "0.02")]  # the buy alone costs more than the cash
    update = apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[buy, sell], fills=fills)
    assert update.state.account.cash == D("100.00") + D("219.98") - D("210.02")


def test_applying_the_same_run_twice_changes_nothing() -> None:
    sell = _sell("t1", "VTI", [("A", 4)])
    first = apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[sell], fills=[_fill(sell, "120", "1")])
    again = apply_fills(first.state, run_id="r1", as_of=AS_OF, trades=[sell], fills=[_fill(sell, "120", "1")])
    assert again.already_applied is True
    assert again.state == first.state
    assert again.realized_gain == D(0)


@pytest.mark.parametrize(
    ("lots", "match"),
    [
        ([("A", 11)], "11 shares of lot A exceed the 10 held"),
        ([("C", 1)], "lot 'C' is not held"),  # a BND lot named in a VTI sell
        ([("Z", 1)], "lot 'Z' is not held"),
        ([("A", 0)], "the plan.s lots hold fewer"),
    ],
)
def test_selling_more_than_a_lot_holds_is_refused(lots: list[tuple[str, int]], match: str) -> None:
    sell = _sell("t1", "VTI", lots)
    with pytest.raises(DomainError, match=match):
        apply_fills(
            _state(LOTS),
            run_id="r1",
            as_of=AS_OF,
            trades=[sell],
            fills=[_fill(sell, "1", "0", shares=max(D(1), sell.shares))],
        )


def test_a_fill_larger_than_the_plans_lots_is_refused() -> None:
    sell = _sell("t1", "VTI", [("A", 2)])
    with pytest.raises(DomainError, match="the plan's lots hold fewer"):
        apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[sell], fills=[_fill(sell, "1", "0", shares=D(3))])


def test_a_buy_costing_more_than_the_cash_is_refused() -> None:
    buy = _buy("t2", "BND", 2)
    with pytest.raises(DomainError, match=r"buy of BND: costs 100\.01, cash is 100\.00"):
        apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[buy], fills=[_fill(buy, "50", "0.01")])
    ok = apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[buy], fills=[_fill(buy, "50", "0")])
    assert ok.state.account.cash == D(0)


def test_a_fill_that_matches_no_trade_is_refused() -> None:
    buy = _buy("t2", "BND", 2)
    other = _buy("t9", "BND", 2)
    with pytest.raises(DomainError, match="does not match a trade of the plan"):
        apply_fills(_state(LOTS), run_id="r1", as_of=AS_OF, trades=[buy], fills=[_fill(other, "1", "0")])


def test_basis_is_conserved_exactly_on_partial_sales() -> None:
    lot = Lot(lot_id="X", symbol="VTI", shares=D(7), cost_basis=D("1000.01"), acquired=date(2020, 1, 2))
    state = _state([lot])
    sold_basis = D(0)
    for run, shares in enumerate((1, 2, 3, 1)):
        sell = _sell(f"t{run}", "VTI", [("X", shares)])
        update = apply_fills(state, run_id=f"r{run}", as_of=AS_OF, trades=[sell], fills=[_fill(sell, "100", "0")])
        gain = D(0)
        for t in update.state.transactions[-1:]:
            assert t.realized_gain is not None  # a sale's transaction carries its realized gain
            gain += t.realized_gain
        sold_basis += D(100) * shares - gain
        state = update.state
        remaining = sum((lot.cost_basis for lot in state.account.lots), D(0))
        assert remaining + sold_basis == D("1000.01")
        assert remaining == remaining.quantize(D("0.01"))
    assert state.account.lots == []


def test_review_extends_do_not_buy_and_drops_expired() -> None:
    state = _state(LOTS)
    state = AccountState(
        account=AccountSnapshot(
            **{
                **{f: getattr(state.account, f) for f in state.account.__struct_fields__},
                "do_not_buy": {"VEA": date(2026, 1, 1), "VTI": date(2026, 1, 20)},
            }
        )
    )
    review = TaxReview(
        harvestable_gains=D(0),
        harvestable_losses=D(0),
        tax_savings=D(0),
        recommendations=[],
        wash_sale_risk=False,
        do_not_buy_after={"VTI": date(2026, 1, 10), "BND": date(2026, 2, 4)},
    )
    update = apply_fills(state, run_id="r1", as_of=AS_OF, trades=[], fills=[], review=review)
    assert update.state.account.do_not_buy == {"VTI": date(2026, 1, 20), "BND": date(2026, 2, 4)}


# ---- properties ----------------------------------------------------------------------------------
money = st.integers(0, 1_000_000).map(lambda c: D(c) / 100)
price = st.integers(1_0000, 500_0000).map(lambda p: D(p) / 10_000)


@st.composite
def cases(draw: st.DrawFn) -> tuple[AccountState, list[Trade], list[Fill]]:
    lots: list[Lot] = []
    trades: list[Trade] = []
    fills: list[Fill] = []
    for symbol in ("VTI", "BND", "VEA"):
        count = draw(st.integers(0, 3))
        symbol_lots = [
            Lot(
                lot_id=f"{symbol}-{i}",
                symbol=symbol,
                shares=D(draw(st.integers(1, 40))),
                cost_basis=draw(money),
                acquired=date(2020, 1, 1 + i),
            )
            for i in range(count)
        ]
        lots += symbol_lots
        taken = [(lot.lot_id, draw(st.integers(0, int(lot.shares)))) for lot in symbol_lots]
        taken = [(lot_id, n) for lot_id, n in taken if n > 0]
        if taken:
            sell = _sell(f"s-{symbol}", symbol, taken)
            trades.append(sell)
            fills.append(_fill(sell, str(draw(price)), str(draw(money) / 100)))
    for i in range(draw(st.integers(0, 2))):
        buy = _buy(f"b-{i}", draw(st.sampled_from(["VTI", "BND", "GLD"])), draw(st.integers(1, 20)))
        trades.append(buy)
        fills.append(_fill(buy, str(draw(price)), str(draw(money) / 100)))
    return _state(lots, cash=str(draw(money))), trades, fills


def _total_basis(state: AccountState) -> Decimal:
    return sum((lot.cost_basis for lot in state.account.lots), D(0))


@settings(max_examples=200, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_ledger_properties(case: tuple[AccountState, list[Trade], list[Fill]], rnd: object) -> None:
    state, trades, fills = case
    amounts = [f.shares * f.price - f.commission if f.action == "sell" else -(f.shares * f.price + f.commission)
               for f in fills]  # fmt: skip
    settled = [settle(a) if a >= 0 else -settle(-a) for a in amounts]
    before_cash = state.account.cash
    expected_cash = before_cash + sum(settled, D(0))
    if expected_cash < 0:
        with pytest.raises(DomainError):
            apply_fills(state, run_id="r", as_of=AS_OF, trades=trades, fills=fills)
        return
    update = apply_fills(state, run_id="r", as_of=AS_OF, trades=trades, fills=fills)
    after = update.state.account
    # cash moves by proceeds minus the cost of buys, and is never negative
    assert after.cash == expected_cash >= 0
    # cash stays a whole number of cents
    assert after.cash == after.cash.quantize(D("0.01"))
    # never sells more than held: every lot keeps a positive quantity, none grows
    held = {lot.lot_id: lot.shares for lot in state.account.lots}
    for lot in after.lots:
        assert lot.shares > 0
        if lot.lot_id in held:
            assert lot.shares <= held[lot.lot_id]
    sold = sum((f.shares for f in fills if f.action == "sell"), D(0))
    assert sum(held.values(), D(0)) - sum((lot.shares for lot in after.lots if lot.lot_id in held), D(0)) == sold
    # the identity of the module docstring, exactly: what settlement rounded is all that differs
    difference = sum((s - a for s, a in zip(settled, amounts, strict=True)), D(0))
    assert all(abs(s - a) <= D("0.005") for s, a in zip(settled, amounts, strict=True))
    assert _total_basis(update.state) + after.cash - update.realized_gain == (
        _total_basis(state) + before_cash + difference
    )
    assert update.realized_gain == sum((t.realized_gain or D(0) for t in update.state.transactions), D(0))
    # independent of the order of the fills, the trades and the lots
    shuffled_fills = list(fills)
    shuffled_trades = list(trades)
    shuffled_lots = list(state.account.lots)
    rnd.shuffle(shuffled_fills)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_trades)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_lots)  # type: ignore[attr-defined]
    reordered = _state(shuffled_lots, cash=str(before_cash))
    other = apply_fills(reordered, run_id="r", as_of=AS_OF, trades=shuffled_trades, fills=shuffled_fills)
    assert other.state == update.state
    assert other.realized_gain == update.realized_gain
