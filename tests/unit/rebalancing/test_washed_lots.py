"""A loss that a recent household purchase would wash saves no tax: the planner sells other lots first."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from services.rebalancing.domain import RebalancePlan
from tests.unit.rebalancing.helpers import TAX, account, lot, plan


def _bond_heavy() -> tuple:
    # bonds far over target: some BND must be sold. Lot b-loss has a loss, b-gain a small long-term gain.
    return (
        lot("e1", "VTI", 20, 250, "2020-01-02"),
        lot("b-loss", "BND", 100, 90, "2021-03-15"),
        lot("b-gain", "BND", 100, 74, "2022-06-01"),
        lot("r1", "VNQ", 10, 80, "2021-01-04"),
    )


def _sold_lots(result: RebalancePlan) -> dict[str, Decimal]:
    return {s.lot_id: s.shares for t in result.trades if t.action == "sell" for s in t.lots}


def test_unwashed_loss_lot_is_sold_first() -> None:
    sold = _sold_lots(plan(account(*_bond_heavy())))
    assert sold["b-loss"] == Decimal(100)  # the whole loss lot goes before any gain lot
    assert sold.get("b-gain", Decimal(0)) < Decimal(100)


def test_washed_loss_lot_is_left_for_a_long_term_gain_lot() -> None:
    tax = replace(TAX, washed_lot_ids=frozenset({"b-loss"}))
    result = plan(account(*_bond_heavy()), tax=tax)
    sold = _sold_lots(result)
    assert "b-gain" in sold
    assert "b-loss" not in sold or sold["b-gain"] == Decimal(100)


def test_washed_loss_counts_no_tax_saving() -> None:
    acct = account(lot("e1", "VTI", 10, 250, "2020-01-02"), lot("b-loss", "BND", 300, 90, "2021-03-15"))
    unwashed = plan(acct)
    washed = plan(acct, tax=replace(TAX, washed_lot_ids=frozenset({"b-loss"})))
    assert unwashed.estimated_tax < 0  # the loss saves tax
    assert washed.estimated_tax == 0  # the same sale saves nothing once washed


def test_cheap_short_term_gain_goes_before_a_dear_long_term_gain() -> None:
    # IWM-like: a short-term lot with a small gain costs less tax per share than a long-term lot with a
    # large gain, so it is sold first whatever its term.
    acct = account(
        lot("e1", "VTI", 10, 250, "2020-01-02"),
        lot("b-old", "BND", 200, 35, "2015-07-08"),  # long-term, $40/sh gain: $6.00/sh at 15%
        lot("b-new", "BND", 200, 74, "2026-01-05"),  # short-term, $1/sh gain: $0.37/sh at 37%
    )
    sold = _sold_lots(plan(acct))
    assert sold["b-new"] == Decimal(200)
    assert sold.get("b-old", Decimal(0)) < Decimal(200)


def test_short_term_loss_goes_before_a_long_term_loss() -> None:
    acct = account(
        lot("e1", "VTI", 10, 250, "2020-01-02"),
        lot("b-lt", "BND", 150, 85, "2021-03-15"),  # long-term loss $10/sh: saves $1.50/sh
        lot("b-st", "BND", 150, 80, "2026-01-05"),  # short-term loss $5/sh: saves $1.85/sh
    )
    sold = _sold_lots(plan(acct))
    assert sold["b-st"] == Decimal(150)
    assert sold.get("b-lt", Decimal(0)) < Decimal(150)
