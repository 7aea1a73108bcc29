"""A sell's reason is rendered when first read, as exactly the text the planner built up front before."""

from __future__ import annotations

import dataclasses
import pickle
from decimal import Decimal

import pytest

from services.rebalancing.domain import TradeAction
from services.rebalancing.domain.book import build_book
from services.rebalancing.domain.plan import Trade, _get_reason, lot_sale, trade
from services.rebalancing.domain.reasons import (
    SellReason,
    drift_phrase,
    kept_phrase,
    lots_phrase,
    sell_reason,
    tax_phrase,
)
from shared.holding_period import Term
from shared.securities import default_securities

from .helpers import AS_OF, PRICES, TAX, account, equity_heavy, lot, plan

SALES = (
    lot_sale("L1", Decimal(10), Decimal("125.505"), Term.LONG),
    lot_sale("L2", Decimal("2.5"), Decimal("-40.004"), Term.SHORT),
)


def _eager(head: tuple[str, ...], gain: Decimal, tax: Decimal, taxable: bool, kept: tuple[str, ...]) -> str:
    """The reason as finalize built it before it was deferred."""
    parts = [*head, lots_phrase(SALES), tax_phrase(gain, tax, taxable)]
    if kept:
        parts.append(kept_phrase(list(kept)))
    return "; ".join(parts)


@pytest.mark.parametrize(
    ("head", "taxable", "kept"),
    [
        (("equity 8.0 pts over target (68.0% -> 60.0%, target 60.0%)",), True, ()),
        (("raise cash for the withdrawal", "bond 1.0 pts under target (29.0% -> 30.0%, target 30.0%)"), True, ()),
        (("equity 8.0 pts over target (68.0% -> 60.0%, target 60.0%)",), False, ()),
        (("bond 2.0 pts over target (32.0% -> 30.0%, target 30.0%)",), True, ("b-loss", "b-loss-2")),
    ],
)
def test_a_sell_reason_renders_the_text_built_up_front(head: tuple[str, ...], taxable: bool, kept: tuple) -> None:
    gain, tax = Decimal("85.501"), Decimal("17.10")
    assert sell_reason(head, SALES, gain, tax, taxable, kept).render() == _eager(head, gain, tax, taxable, kept)
    assert sell_reason(head, SALES, gain, tax, taxable, kept) == SellReason(head, SALES, gain, tax, taxable, kept)


def _deferred_trade() -> tuple[Trade, str]:
    head = ("equity 8.0 pts over target (68.0% -> 60.0%, target 60.0%)",)
    reason = sell_reason(head, SALES, Decimal("85.501"), Decimal("17.10"), True, ())
    made = trade("VTI", TradeAction.SELL, Decimal("12.5"), Decimal(300), Decimal(3750), SALES, reason)
    return made, reason.render()


def test_the_text_is_rendered_on_the_first_read_and_kept() -> None:
    made, text = _deferred_trade()
    assert isinstance(_get_reason(made, Trade), SellReason)  # nothing rendered yet
    first = made.reason
    assert first == text
    assert _get_reason(made, Trade) is first  # kept: a second read renders nothing
    assert made.reason is first


@pytest.mark.parametrize("read_first", [False, True])
def test_a_deferred_trade_equals_hashes_and_prints_as_the_plain_one(read_first: bool) -> None:
    made, text = _deferred_trade()
    if read_first:
        assert made.reason == text
    plain = Trade(
        symbol="VTI",
        action=TradeAction.SELL,
        shares=Decimal("12.5"),
        price=Decimal(300),
        value=Decimal(3750),
        lots=SALES,
        reason=text,
    )
    assert made == plain and plain == made
    assert hash(made) == hash(plain)
    assert repr(made) == repr(plain)
    assert pickle.loads(pickle.dumps(made)) == plain
    assert dataclasses.replace(made, shares=Decimal(1)).reason == text
    assert dataclasses.asdict(made)["reason"] == text


def test_a_trade_stays_frozen() -> None:
    made, _ = _deferred_trade()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.reason = "other"  # type: ignore[misc]
    plain = Trade(
        symbol="VTI", action=TradeAction.BUY, shares=Decimal(1), price=Decimal(1), value=Decimal(1), lots=(), reason="x"
    )
    assert plain.reason == "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        plain.reason = "y"  # type: ignore[misc]


@pytest.mark.parametrize("taxable", [True, False])
def test_a_plans_sell_reasons_are_the_up_front_text(taxable: bool) -> None:
    acct = dataclasses.replace(equity_heavy(), taxable=taxable)
    result = plan(acct)
    book = build_book(acct, PRICES, as_of=AS_OF, securities=default_securities(), tax=TAX)
    sells = [t for t in result.trades if t.action is TradeAction.SELL]
    assert sells
    for t in sells:
        assert isinstance(_get_reason(t, Trade), SellReason)
        rates = [book.facts_by_id[s.lot_id].rate for s in t.lots]
        est = sum((s.gain * r for s, r in zip(t.lots, rates, strict=True)), Decimal(0))
        cls = book.class_of(t.symbol)
        parts = [
            drift_phrase(cls, result.before, result.after, book.target),
            lots_phrase(t.lots),
            tax_phrase(t.realized_gain, est, taxable),
        ]
        assert t.reason == "; ".join(parts)


def test_a_washed_lot_kept_is_named_in_the_reason() -> None:
    acct = account(
        lot("e1", "VTI", 10, 250, "2020-01-02"),
        lot("b-gain", "BND", 300, 70, "2021-03-15"),
        lot("b-loss", "BND", 50, 90, "2021-03-15"),
    )
    result = plan(acct, tax=dataclasses.replace(TAX, washed_lot_ids=frozenset({"b-loss"})))
    (bnd,) = [t for t in result.trades if t.symbol == "BND"]
    assert "b-loss" not in {s.lot_id for s in bnd.lots}
    assert bnd.reason.endswith("; " + kept_phrase(["b-loss"]))
