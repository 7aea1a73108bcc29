"""The tax-aware optimizer: fix each security's direction, solve the QP, turn the result into an intent.

Directions are fixed first, per "substantially identical" group: a class that must shrink may only
sell its holdings, a class that must grow may only buy (its holdings or its default security), so no
plan buys and sells one security or a pair of identical ones (no self-made wash sales).
The QP then chooses *which* holdings and lots to sell (tax) and how to spread the buys (tracking
error). Sells per security go to lots in relief order; rounding and repair are :func:`~.finalize.finalize`'s.
"""

from __future__ import annotations

from decimal import Decimal

from shared.money import ZERO

from .book import CASH, Book
from .buys import buy_candidates, split_buy
from .cvxpy_backend import solve_cvxpy
from .drift import class_goals
from .heuristic import blocked_for_buying
from .intent import Intent
from .lots import round_shares, sell_from_lots
from .model import Covariance, PlanOptions, TaxInputs
from .osqp_backend import solve_osqp
from .qp import QPData, build_qp

__all__ = ["optimizer_intent", "prepare_qp"]


def prepare_qp(book: Book, options: PlanOptions, tax: TaxInputs | None, covariance: Covariance | None) -> QPData:
    """The QP of a full or threshold rebalance of ``book``."""
    goals = class_goals(book, options)
    values = book.class_values()
    blocked = blocked_for_buying(options, tax)
    directions: dict[str, int] = {}
    wstar: dict[str, Decimal] = {}
    for cls in book.target:
        if cls == CASH:
            continue
        delta = goals[cls] - values[cls]
        held = [s for s in book.holdings if book.class_of(s) == cls]
        if delta < 0:
            for s in held:
                directions[s] = -1
                wstar[s] = book.holdings[s] * goals[cls] / values[cls]
        elif delta > 0:
            sold_groups = {book.securities.identical_group(s) for s, d in directions.items() if d < 0}
            symbols = buy_candidates(book, cls, blocked=blocked, sold_groups=sold_groups)
            split = split_buy(book, symbols, delta)
            for s in held:
                directions.setdefault(s, 0)
                wstar[s] = book.holdings[s]
            for s in symbols:
                directions[s] = 1
                wstar[s] = book.holdings.get(s, ZERO) + split.get(s, ZERO)
        else:
            for s in held:
                directions[s] = 0
                wstar[s] = book.holdings[s]
    for s in book.holdings:  # cash-class holdings and anything left: held still
        directions.setdefault(s, 0)
        wstar.setdefault(s, book.holdings[s])
    return build_qp(
        book,
        options,
        directions=directions,
        wstar_values=wstar,
        goals=goals,
        covariance=covariance,
        blocked_buy=blocked,
    )


def optimizer_intent(
    book: Book, options: PlanOptions, tax: TaxInputs | None, covariance: Covariance | None
) -> tuple[Intent, str]:
    """The optimizer's intent and the solver's name. Raises on a failed solve."""
    qp = prepare_qp(book, options, tax, covariance)
    if options.backend == "cvxpy":
        buys, sells, _ = solve_cvxpy(qp, solver="CLARABEL")
        name = "cvxpy/CLARABEL"
    elif options.backend == "cvxpy-osqp":
        buys, sells, _ = solve_cvxpy(qp, solver="OSQP")
        name = "cvxpy/OSQP"
    else:
        buys, sells = solve_osqp(qp)
        name = "osqp"
    intent = Intent(drift_driven=True)
    V = book.total
    for i, symbol in enumerate(qp.symbols):
        dollars = Decimal(repr(max(float(buys[i]), 0.0))) * V
        if dollars >= Decimal("0.01"):
            intent.add_buy(symbol, dollars)
    sold: dict[str, Decimal] = {}
    facts = {f.lot_id: f for f in book.lots}
    for j, lot_id in enumerate(qp.lot_ids):
        amount = Decimal(repr(max(float(sells[j]), 0.0))) * V
        if amount >= Decimal("0.01"):
            f = facts[lot_id]
            sold[f.symbol] = sold.get(f.symbol, ZERO) + amount / f.price
    for symbol in sorted(sold):
        shares = min(round_shares(sold[symbol], fractional=book.account.fractional), book.shares[symbol])
        for lot_id, take in sell_from_lots(book, symbol, shares).items():
            intent.add_sell(lot_id, take)
    return intent, name
