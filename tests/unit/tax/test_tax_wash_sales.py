"""Wash sales: the worked examples of Publication 550 and Treas. Reg. §1.1091-1/-2, window edges,
tacking, IRAs, chains and household-wide matching."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.tax.domain import AccountType, LotMethod, compute_realized
from shared.holding_period import Term

from .helpers import D, tx

IRA = AccountType.TRADITIONAL_IRA


def test_pub550_wash_sale_example_1_full_replacement() -> None:
    """Pub 550, Wash Sales, Example 1: 100 shares bought for $1,000, sold for $750, 100 bought within 30
    days for $800: the $250 loss is disallowed and the new stock's basis is $1,050."""
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "XYZ", 100, 10),
            tx("sell", "2024-06-03", "XYZ", 100, "7.50"),
            tx("buy", "2024-06-20", "XYZ", 100, 8),
        ]
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == D(250)
    assert sale.gain == 0 and sale.code == "W"
    (lot,) = result.open_lots
    assert lot.adjusted_basis == D(1050)


def test_pub550_wash_sale_example_2_fewer_shares_bought() -> None:
    """Pub 550, Wash Sales, Example 2: 100 shares bought for $1,000, sold for $750, 50 bought within 30
    days for $400: $125 ($250 x 50/100) disallowed, basis of the new 50 shares $525; $125 deductible."""
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "XYZ", 100, 10),
            tx("sell", "2024-06-03", "XYZ", 100, "7.50"),
            tx("buy", "2024-06-10", "XYZ", 50, 8),
        ]
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == D(125)
    assert sale.gain == D(-125)
    (lot,) = result.open_lots
    assert lot.adjusted_basis == D(525)


def test_reg_1091_1_h_example_1_purchase_before_sale() -> None:
    """Reg. §1.1091-1(h) Example (1) and §1.1091-2: 100 shares bought 1954-12-01 for $10,000, 100 more
    1954-12-15 for $9,000; the first 100 sold 1955-01-03 for $9,000: no deductible loss; the shares of
    December 15 take a basis of $10,000."""
    result = compute_realized(
        [
            tx("buy", "1954-12-01", "M", 100, 100),
            tx("buy", "1954-12-15", "M", 100, 90),
            tx("sell", "1955-01-03", "M", 100, 90),
        ]
    )
    (sale,) = result.sales
    assert sale.acquired == date(1954, 12, 1)
    assert sale.wash_sale_disallowed == D(1000) and sale.gain == 0
    (lot,) = result.open_lots
    assert lot.acquired == date(1954, 12, 15) and lot.adjusted_basis == D(10000)


def test_reg_1091_1_h_example_2_fewer_shares_matched_in_acquisition_order() -> None:
    """Reg. §1.1091-1(h) Example (2) and §1.1091-2: 100 shares bought 1954-09-21 for $5,000; 50 bought
    1954-12-21 for $2,750 and 25 on 1954-12-27 for $1,125; the 100 sold 1955-01-03 for $4,000. Loss on 75
    shares ($750) disallowed, on 25 shares ($250) allowed; bases $3,250 (50 shares) and $1,375 (25 shares)."""
    result = compute_realized(
        [
            tx("buy", "1954-09-21", "M", 100, 50),
            tx("buy", "1954-12-21", "M", 50, 55),
            tx("buy", "1954-12-27", "M", 25, 45),
            tx("sell", "1955-01-03", "M", 100, 40, lot_id=None),
        ],
        method=LotMethod.FIFO,
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == D(750)
    assert sale.gain == D(-250)
    bases = {lot.acquired: lot.adjusted_basis for lot in result.open_lots}
    assert bases == {date(1954, 12, 21): D(3250), date(1954, 12, 27): D(1375)}


def test_reg_1091_1_h_example_3_more_shares_bought_first_acquired_are_replacements() -> None:
    """Reg. §1.1091-1(h) Example (3): 100 shares bought 1954-09-15 for $5,000, sold 1956-02-01 for
    $4,000; 50 shares bought on each of Feb 15-18, 1956 for $2,000: the loss is not deductible and the
    replacements are the first 100 bought (Feb 15 and 16), each 50 taking a basis of $2,500."""
    result = compute_realized(
        [
            tx("buy", "1954-09-15", "M", 100, 50),
            tx("sell", "1956-02-01", "M", 100, 40),
            *[tx("buy", f"1956-02-{day}", "M", 50, 40) for day in (15, 16, 17, 18)],
        ]
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == D(1000) and sale.gain == 0
    assert sale.term is Term.LONG
    bases = {lot.acquired.day: lot.adjusted_basis for lot in result.open_lots}
    assert bases == {15: D(2500), 16: D(2500), 17: D(2000), 18: D(2000)}
    assert [m.replacement_acquired.day for m in result.matches] == [15, 16]


def test_losses_matched_in_the_order_of_the_sales() -> None:
    """Reg. §1.1091-1(e): with two loss sales and one replacement purchase, the earlier loss is matched."""
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "XYZ", 100, 10, lot_id="a"),
            tx("buy", "2024-01-03", "XYZ", 100, 10, lot_id="b"),
            tx("sell", "2024-06-03", "XYZ", 100, 8, lot_id="b"),
            tx("sell", "2024-06-05", "XYZ", 100, 7, lot_id="a"),
            tx("buy", "2024-06-10", "XYZ", 100, 7),
        ]
    )
    first, second = result.sales
    assert (first.lot_id, first.wash_sale_disallowed) == ("b", D(200))
    assert (second.lot_id, second.wash_sale_disallowed) == ("a", D(0))


@pytest.mark.parametrize(
    ("offset", "washed"), [(-31, False), (-30, True), (-29, True), (29, True), (30, True), (31, False)]
)
def test_window_edges(offset: int, washed: bool) -> None:
    sale_day = date(2024, 6, 15)
    buy_day = (sale_day + timedelta(days=offset)).isoformat()
    result = compute_realized(
        [
            tx("buy", "2023-01-03", "XYZ", 10, 100, lot_id="old"),
            tx("buy", buy_day, "XYZ", 10, 80, lot_id="new"),
            tx("sell", sale_day.isoformat(), "XYZ", 10, 80, lot_id="old"),
        ]
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == (D(200) if washed else D(0))


def test_holding_period_of_the_sold_shares_is_tacked_on() -> None:
    """§1223(3): the replacement's holding period includes the 200 days the sold shares were held, so it
    is long-term 166 days after its purchase instead of after a year."""
    result = compute_realized(
        [
            tx("buy", "2024-01-01", "XYZ", 10, 100),
            tx("sell", "2024-07-19", "XYZ", 10, 80),  # held 200 days
            tx("buy", "2024-07-29", "XYZ", 10, 80),
            tx("sell", "2025-01-14", "XYZ", 10, 90),
        ]
    )
    first, second = result.sales
    assert (date(2024, 7, 19) - date(2024, 1, 1)).days == 200
    assert first.wash_sale_disallowed == D(200)
    assert second.holding_period_start == date(2024, 7, 29) - timedelta(days=200)
    assert second.term is Term.LONG
    assert second.cost_basis == D(1000) and second.gain == D(-100)


def test_ira_replacement_disallows_permanently_without_basis_increase() -> None:
    """Rev. Rul. 2008-5: a replacement bought in an IRA disallows the loss, and the IRA gets no basis."""
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "VTI", 10, 100),
            tx("sell", "2024-06-03", "VTI", 10, 80),
            tx("buy", "2024-06-10", "VTI", 10, 80, account="ira", account_type=IRA),
        ]
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == D(200) == sale.permanently_disallowed
    assert result.years[0].short_term == 0
    (lot,) = result.open_lots
    assert lot.account_id == "ira" and lot.adjusted_basis == D(800) and lot.holding_period_start is None


def test_ira_sales_are_not_taxable_and_never_start_a_wash() -> None:
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "VTI", 10, 100, account="ira", account_type=IRA),
            tx("sell", "2024-06-03", "VTI", 10, 80, account="ira", account_type=IRA),
            tx("buy", "2024-06-10", "VTI", 10, 80),
        ]
    )
    assert result.sales == ()
    assert len(result.non_taxable_sales) == 1
    assert result.open_lots[0].wash_sale_adjustment == 0 and result.years == ()


def test_cross_account_household_wash_with_substantially_identical_fund() -> None:
    """SPY sold at a loss in one account, IVV (same S&P 500 group) bought in another: washed."""
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "SPY", 10, 500, account="joint"),
            tx("sell", "2024-06-03", "SPY", 10, 450, account="joint"),
            tx("buy", "2024-06-04", "IVV", 5, 455, account="spouse"),
            tx("buy", "2024-06-05", "VTI", 5, 250, account="spouse"),  # different index: no wash
        ]
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == D(250)
    ivv = next(lot for lot in result.open_lots if lot.symbol == "IVV")
    assert ivv.account_id == "spouse" and ivv.adjusted_basis == D(5) * 455 + 250


def test_chained_washes_carry_the_accumulated_adjustment() -> None:
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "XYZ", 10, 100),
            tx("sell", "2024-03-01", "XYZ", 10, 90),  # loss 100, washed by the 03-10 buy
            tx("buy", "2024-03-10", "XYZ", 10, 90),  # basis 900 + 100
            tx("sell", "2024-04-01", "XYZ", 10, 80),  # loss 1000 - 800 = 200, washed by the 04-15 buy
            tx("buy", "2024-04-15", "XYZ", 10, 80),  # basis 800 + 200
        ]
    )
    first, second = result.sales
    assert first.wash_sale_disallowed == D(100)
    assert second.cost_basis == D(1000) and second.wash_sale_disallowed == D(200)
    (lot,) = result.open_lots
    assert lot.adjusted_basis == D(1000)
    held = (date(2024, 3, 1) - date(2024, 1, 2)).days + (date(2024, 4, 1) - date(2024, 3, 10)).days
    assert lot.holding_start == date(2024, 4, 15) - timedelta(days=held)


def test_a_lots_own_purchase_never_washes_its_sale() -> None:
    """Part of one purchase sold at a loss within 30 days: the rest of that purchase is not a replacement
    (Rev. Rul. 56-602); shares bought and sold the same day in one sale are the shares sold."""
    result = compute_realized(
        [
            tx("buy", "2024-06-01", "XYZ", 100, 10),
            tx("sell", "2024-06-10", "XYZ", 50, 9),
            tx("buy", "2024-07-01", "ABC", 10, 10),
            tx("buy", "2024-07-01", "ABC", 10, 10),
            tx("sell", "2024-07-01", "ABC", 20, 9),
        ]
    )
    # the two ABC buys of 07-01 are one purchase (one lot), so the ABC sale relieves one lot
    assert [(s.symbol, s.shares, s.wash_sale_disallowed) for s in result.sales] == [("XYZ", 50, 0), ("ABC", 20, 0)]


def test_same_day_buy_is_inside_the_window() -> None:
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "XYZ", 10, 100),
            tx("sell", "2024-06-03", "XYZ", 10, 90),
            tx("buy", "2024-06-03", "XYZ", 10, 90),
        ]
    )
    (sale,) = result.sales
    assert sale.wash_sale_disallowed == D(100)


def test_reinvest_counts_unless_the_account_opts_out() -> None:
    from services.tax.domain import AccountPolicy

    rows = [
        tx("buy", "2024-01-02", "XYZ", 10, 100),
        tx("sell", "2024-06-03", "XYZ", 10, 90),
        tx("reinvest", "2024-06-20", "XYZ", 1, 90),
    ]
    assert compute_realized(rows).sales[0].wash_sale_disallowed == D(10)
    policy = AccountPolicy(account_id="brokerage", reinvest_is_replacement=False)
    assert compute_realized(rows, accounts=[policy]).sales[0].wash_sale_disallowed == 0


def test_gains_are_never_washed() -> None:
    result = compute_realized(
        [
            tx("buy", "2024-01-02", "XYZ", 10, 100),
            tx("sell", "2024-06-03", "XYZ", 10, 110),
            tx("buy", "2024-06-04", "XYZ", 10, 110),
        ]
    )
    assert result.sales[0].wash_sale_disallowed == 0 and result.sales[0].gain == D(100)
