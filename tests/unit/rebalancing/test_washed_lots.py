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
