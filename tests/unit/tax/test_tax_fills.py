"""One order, many fills: the rows of one security in one account on one date are one sale (or one
purchase) event, so splitting an order into fills never changes the tax (issue 8's worked examples)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tax.domain import LotMethod, RealizedResult, Transaction, compute_realized

from .helpers import D, tx
from .test_tax_properties import households, methods


def _voo(*sells: int) -> RealizedResult:
    return compute_realized(
        [
            tx("buy", "2024-01-02", "VOO", 28, 100),
            tx("buy", "2024-02-15", "VOO", 52, 95),
            *(tx("sell", "2024-03-01", "VOO", shares, 90) for shares in sells),
        ]
    )


def test_voo_sold_in_one_row_carries_210_into_the_shares_still_held() -> None:
    result = _voo(59)
    (year,) = result.years
    assert year.short_term == D(-225) and year.long_term == 0
    assert result.total_disallowed == D(210)
    (lot,) = result.open_lots
    assert lot.shares == 21 and lot.wash_sale_adjustment == D(210) and lot.adjusted_basis == D(21 * 95 + 210)


def test_voo_sold_in_two_fills_is_the_same_sale() -> None:
    one, split = _voo(59), _voo(28, 31)
    assert split.years == one.years
    assert split.open_lots == one.open_lots
    assert [(s.lot_id, s.shares, s.cost_basis, s.wash_sale_disallowed, s.gain) for s in split.sales] == [
        (s.lot_id, s.shares, s.cost_basis, s.wash_sale_disallowed, s.gain) for s in one.sales
    ]


def _two_lots(*sells: int) -> RealizedResult:
    return compute_realized(
        [
            tx("buy", "2023-01-03", "XYZ", 100, 50),
            tx("buy", "2024-02-15", "XYZ", 100, 45),
            *(tx("sell", "2024-03-01", "XYZ", shares, 40) for shares in sells),
        ]
    )


def test_selling_both_lots_in_one_row_washes_nothing() -> None:
    (year,) = _two_lots(200).years
    assert (year.short_term, year.long_term, year.disallowed) == (D(-500), D(-1000), 0)


def test_selling_both_lots_in_two_fills_is_the_same() -> None:
    (year,) = _two_lots(100, 100).years
    assert (year.short_term, year.long_term, year.disallowed) == (D(-500), D(-1000), 0)


def test_a_purchase_in_two_fills_is_one_lot() -> None:
    whole = compute_realized([tx("buy", "2024-02-15", "VOO", 52, 95), tx("sell", "2024-03-01", "VOO", 10, 90)])
    split = compute_realized(
        [
            tx("buy", "2024-02-15", "VOO", 30, 95),
            tx("buy", "2024-02-15", "VOO", 22, 95),
            tx("sell", "2024-03-01", "VOO", 10, 90),
        ]
    )
    assert split.open_lots == whole.open_lots and split.sales == whole.sales


def test_shares_of_the_same_days_purchase_under_other_lot_ids_never_wash_their_sale() -> None:
    result = compute_realized(
        [
            tx("buy", "2024-02-15", "VOO", 30, 95, lot_id="a"),
            tx("buy", "2024-02-15", "VOO", 22, 95, lot_id="b"),
            tx("sell", "2024-03-01", "VOO", 30, 90, lot_id="a"),
        ]
    )
    assert result.total_disallowed == 0
    assert [lot.wash_sale_adjustment for lot in result.open_lots] == [0]


def _split(transactions: list[Transaction], index: int, cut: Decimal) -> list[Transaction]:
    row = transactions[index]
    first = replace(row, shares=cut, fees=Decimal(0))
    second = replace(row, shares=row.shares - cut)
    return [*transactions[:index], first, second, *transactions[index + 1 :]]


def _summary(result: RealizedResult) -> object:
    sales = sorted(
        (s.sale_date, s.account_id, s.lot_id, s.term, s.shares, s.proceeds, s.cost_basis, s.wash_sale_disallowed)
        for s in result.sales
    )
    lots = sorted(
        (lot.account_id, lot.symbol, lot.shares, lot.adjusted_basis, lot.holding_start) for lot in result.open_lots
    )
    return sales, lots, result.years


@settings(max_examples=150, deadline=None)
@given(households, methods, st.data())
def test_splitting_any_row_into_fills_changes_nothing(
    transactions: list[Transaction], method: LotMethod, data: st.DataObject
) -> None:
    """Property: cut one row in two fills (same date, account, symbol and price; the fees on the
    second): gains, character, disallowed amounts, lots and basis are all the same."""
    index = data.draw(st.integers(0, len(transactions) - 1))
    row = transactions[index]
    if row.shares < 2:
        return
    cut = Decimal(data.draw(st.integers(1, int(row.shares) - 1)))
    split = compute_realized(_split(transactions, index, cut), method=method)
    assert _summary(split) == _summary(compute_realized(transactions, method=method))
