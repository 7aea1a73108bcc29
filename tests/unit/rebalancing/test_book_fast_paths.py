"""The book's and the plan's fast paths give what the plain code gives (issue 9's speed-ups)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.rebalancing.domain import InvalidAccountError
from services.rebalancing.domain.book import build_book
from services.rebalancing.domain.plan import LotSale, Trade, TradeAction, lot_sale, trade
from services.rebalancing.domain.reasons import lot_part, lots_phrase
from shared.holding_period import Term, term_of
from shared.securities import default_securities

from .helpers import PRICES, TAX, account, lot


@given(
    as_of=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    held=st.lists(st.integers(min_value=0, max_value=800), min_size=1, max_size=8),
)
def test_each_lot_term_is_the_calendar_term(as_of: date, held: list[int]) -> None:
    lots = [lot(f"L{i}", "VTI", 1, 100, (as_of - timedelta(days=d)).isoformat()) for i, d in enumerate(held)]
    book = build_book(account(*lots), PRICES, as_of=as_of, securities=default_securities(), tax=TAX)
    for f in book.lots:
        assert f.term is term_of(f.lot.acquired, as_of)


def test_a_repeated_lot_id_is_refused_before_a_later_lot_is_checked() -> None:
    lots = [lot("A", "VTI", 1, 100, "2020-01-01"), lot("A", "VTI", 1, 100, "2020-01-02")]
    bad = lot("B", "VTI", 1, 100, "2020-01-03")
    bad = type(bad)(lot_id="B", symbol="VTI", shares=Decimal(-1), cost_basis=Decimal(1), acquired=bad.acquired)
    with pytest.raises(InvalidAccountError, match="lot 'A' appears twice"):
        build_book(account(*lots, bad), PRICES, as_of=date(2026, 5, 1), securities=default_securities(), tax=TAX)
    with pytest.raises(InvalidAccountError, match="lot 'B': shares must be positive"):
        build_book(account(bad, *lots), PRICES, as_of=date(2026, 5, 1), securities=default_securities(), tax=TAX)


@pytest.mark.parametrize("gain", ["-12.345", "-0.00", "0", "7.005", "1E+2"])
def test_lot_sale_and_its_reason_as_the_plain_constructor_and_fstring(gain: str) -> None:
    g, shares = Decimal(gain), Decimal("1.500000")
    assert lot_sale("L1", shares, g, Term.LONG) == LotSale(lot_id="L1", shares=shares, gain=g, term=Term.LONG)
    kind = "loss" if g < 0 else "gain"
    expected = f"L1 {shares} sh (long-term {kind} ${abs(g).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)})"
    assert lot_part("L1", shares, g, Term.LONG) == expected
    assert lots_phrase([lot_sale("L1", shares, g, Term.LONG)]) == "sells lots " + expected


def test_trade_is_the_plain_constructor() -> None:
    sale = lot_sale("L1", Decimal(2), Decimal("-3.5"), Term.SHORT)
    fields = {
        "symbol": "VTI",
        "action": TradeAction.SELL,
        "shares": Decimal(2),
        "price": Decimal("300.10"),
        "value": Decimal("600.20"),
        "lots": (sale,),
        "reason": "why",
    }
    made = trade(**fields)  # type: ignore[arg-type]
    assert made == Trade(**fields)  # type: ignore[arg-type]
    assert repr(made) == repr(Trade(**fields))  # type: ignore[arg-type]
    assert made.realized_gain == Decimal("-3.5")


def test_a_lot_sale_reads_and_prints_as_the_dataclass_did() -> None:
    sale = LotSale(lot_id="L1", shares=Decimal(10), gain=Decimal("-1.5"), term=Term.LONG)
    assert repr(sale) == "LotSale(lot_id='L1', shares=Decimal('10'), gain=Decimal('-1.5'), term=<Term.LONG: 'long'>)"
    assert (sale.lot_id, sale.shares, sale.gain, sale.term) == ("L1", Decimal(10), Decimal("-1.5"), Term.LONG)
    assert sale == lot_sale("L1", Decimal(10), Decimal("-1.5"), Term.LONG)
    with pytest.raises(AttributeError):
        sale.shares = Decimal(1)  # type: ignore[misc]
