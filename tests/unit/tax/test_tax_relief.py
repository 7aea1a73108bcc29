"""Lot relief methods: FIFO (default), LIFO, highest cost, minimum tax and specific lot."""

from __future__ import annotations

from datetime import date

import pytest

from services.tax.domain import Lot, LotMethod, compute_realized, relief_order

from .helpers import D, tx

SALE_DAY = date(2024, 6, 3)
# per share at a sale price of 110: A LT +10, B ST -20, C LT +30, D ST +15, E LT -30
LOTS = [
    ("A", "2022-01-03", 100),
    ("B", "2024-01-02", 130),
    ("C", "2023-06-01", 80),
    ("D", "2024-03-01", 95),
    ("E", "2023-01-03", 140),
]


def _buys() -> list:
    return [tx("buy", day, "XYZ", 10, price, lot_id=lot_id) for lot_id, day, price in LOTS]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (LotMethod.FIFO, "A"),
        (LotMethod.LIFO, "D"),
        (LotMethod.HIFO, "E"),
        (LotMethod.MIN_TAX, "B"),
        (LotMethod.SPECIFIC, "A"),  # specific without a lot_id falls back to FIFO
    ],
)
def test_each_method_picks_its_lot(method: LotMethod, expected: str) -> None:
    result = compute_realized([*_buys(), tx("sell", "2024-06-03", "XYZ", 10, 110)], method=method)
    assert [s.lot_id for s in result.sales] == [expected]


def test_min_tax_order_st_losses_lt_losses_lt_gains_st_gains() -> None:
    lots = [
        Lot(
            lot_id=lot_id,
            symbol="XYZ",
            shares=D(10),
            cost_basis=D(price) * 10,
            acquired=date.fromisoformat(day),
        )
        for lot_id, day, price in LOTS
    ]
    order = relief_order(lots, LotMethod.MIN_TAX, sale_date=SALE_DAY, net_price=D(110))
    assert [lots[i].lot_id for i in order] == ["B", "E", "A", "C", "D"]


def test_ties_break_by_acquisition_then_opening_order() -> None:
    lots = [
        Lot(lot_id="late", symbol="X", shares=D(1), cost_basis=D(50), acquired=date(2024, 2, 1)),
        Lot(lot_id="early", symbol="X", shares=D(1), cost_basis=D(50), acquired=date(2024, 1, 1)),
        Lot(lot_id="early2", symbol="X", shares=D(1), cost_basis=D(50), acquired=date(2024, 1, 1)),
    ]
    for method in (LotMethod.HIFO, LotMethod.MIN_TAX, LotMethod.FIFO):
        order = relief_order(lots, method, sale_date=SALE_DAY, net_price=D(60))
        assert [lots[i].lot_id for i in order] == ["early", "early2", "late"]


def test_specific_lot_and_partial_lots() -> None:
    result = compute_realized(
        [
            *_buys(),
            tx("sell", "2024-06-03", "XYZ", 4, 110, lot_id="C"),
            tx("sell", "2024-06-04", "XYZ", 12, 110),
        ]
    )
    assert [(s.lot_id, s.shares) for s in result.sales] == [("C", 4), ("A", 10), ("E", 2)]
    assert result.sales[0].cost_basis == D(320) and result.sales[0].gain == D(120)
    remaining = {lot.lot_id: lot.shares for lot in result.open_lots}
    assert remaining == {"B": 10, "C": 6, "D": 10, "E": 8}


def test_fees_go_into_basis_and_out_of_proceeds() -> None:
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "XYZ", 10, 100, fees="5"),
            tx("sell", "2024-03-01", "XYZ", 10, 110, fees="7"),
        ]
    )
    (sale,) = result.sales
    assert (sale.proceeds, sale.cost_basis, sale.gain) == (D(1093), D(1005), D(88))


def test_method_parse_accepts_cli_spelling() -> None:
    assert LotMethod.parse("min-tax") is LotMethod.MIN_TAX
    with pytest.raises(ValueError, match="unknown lot method"):
        LotMethod.parse("average")
