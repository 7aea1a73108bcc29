from decimal import Decimal

from services.rebalancing.domain import (
    Band,
    RebalanceMode,
    RebalanceTo,
    allocation,
    deviations,
    needs_rebalancing,
)
from services.rebalancing.domain.book import build_book
from services.rebalancing.domain.drift import class_goals
from services.rebalancing.domain.model import PlanOptions
from shared.securities import default_securities

from .helpers import AS_OF, PRICES, TAX, account, equity_heavy, lot, plan

D = Decimal


def test_allocation_and_signed_deviations() -> None:
    alloc = allocation({"equity": D(70), "bond": D(20), "cash": D(10)})
    assert alloc == {"equity": D(70), "bond": D(20), "cash": D(10)}
    devs = deviations(alloc, {"equity": D(60), "bond": D(30), "cash": D(10)})
    assert devs == {"equity": D(10), "bond": D(-10), "cash": D(0)}


def test_absolute_and_relative_bands() -> None:
    assert Band(absolute=D(5)).width(D(60)) == D(5)
    assert Band(absolute=None, relative=D("0.25")).width(D(10)) == D("2.5")
    assert Band(absolute=D(5), relative=D("0.25")).width(D(10)) == D("2.5")  # the narrower
    current = {"equity": D(57), "reit": D(13), "bond": D(30)}
    target = {"equity": D(60), "reit": D(10), "bond": D(30)}
    assert not needs_rebalancing(current, target, Band(absolute=D(5)))
    assert needs_rebalancing(current, target, Band(absolute=D(5), relative=D("0.25")))


def test_plan_reports_every_class_and_needs_rebalancing() -> None:
    p = plan(equity_heavy())
    assert set(p.deviations) == {"equity", "bond", "reit", "commodity", "cash"}
    assert p.needs_rebalancing
    assert abs(sum(p.before.values(), D(0)) - D(100)) < D("0.000001")
    assert abs(sum(p.deviations.values(), D(0))) < D("0.000001")


def test_in_band_account_needs_nothing_and_threshold_trades_nothing() -> None:
    acct = account(
        lot("a", "VTI", 20, 250, "2020-01-01"),
        lot("b", "BND", 40, 70, "2020-01-01"),
        lot("c", "VNQ", 11, 80, "2020-01-01"),
        cash=10,
    )
    p = plan(acct, mode=RebalanceMode.THRESHOLD)
    assert not p.needs_rebalancing
    assert p.trades == ()


def test_threshold_moves_only_out_of_band_classes_and_band_edge_goal() -> None:
    book = build_book(equity_heavy(), PRICES, as_of=AS_OF, securities=default_securities(), tax=TAX)
    values = book.class_values()
    edge = class_goals(book, PlanOptions(mode=RebalanceMode.THRESHOLD, rebalance_to=RebalanceTo.BAND_EDGE))
    assert abs(edge["equity"] * 100 / book.total - D(65)) < D("0.0001")  # target 60 + band 5
    assert edge["reit"] >= values["reit"]
    full = class_goals(book, PlanOptions())
    assert abs(full["equity"] * 100 / book.total - D(60)) < D("0.0001")
    assert abs(sum(edge.values()) - book.total) < D("0.0001")
