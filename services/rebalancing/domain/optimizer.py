"""The tax-aware optimizer: fix a direction per "substantially identical" group, solve the QP, turn the
result into an intent.

Directions are fixed per identical group (never per class), so no plan buys and sells one security or a
pair of identical ones (no self-made wash sales), while a class may still sell one group and buy
another. Per asset class (cash-class funds included):

- a group holding a lot whose sale saves more tax than a round trip costs (a harvestable loss) may
  only sell: the optimizer can harvest it even inside an underweight or in-band class, buying another
  group of the class with the proceeds;
- the class's other held groups may only sell when the class must shrink by more than its harvestable
  losses, else they may only buy;
- a class that must grow (or reinvest harvested losses) with no group left to buy gets one buy
  candidate (see :func:`~.buys.buy_candidates`); with none (excluded, blocked or without a price) the
  plan warns, naming the class;
- cash-class funds (BIL, SGOV, ...) may be sold into cash; buying them never changes a class weight,
  so they are not bought.

The QP then chooses how much of each group and which lots to sell (tax, cheapest first) and how to
spread the buys (tracking error). Sells per security go to lots in tax order; rounding and repair
are :func:`~.finalize.finalize`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from shared.money import ZERO

from .book import CASH, Book
from .buys import buy_candidates, split_buy
from .drift import class_goals
from .heuristic import blocked_for_buying
from .intent import Intent
from .model import Covariance, PlanOptions, TaxInputs
from .osqp_backend import solve_osqp
from .qp import QPData, build_qp

__all__ = ["Directions", "choose_directions", "optimizer_intent", "prepare_qp"]

_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")
_ONE = Decimal(1)
_MICRO = Decimal("0.000001")


@dataclass(slots=True)
class Directions:
    """Symbol to +1 (may only buy), -1 (may only sell) or 0 (held still); the tracking targets; warnings."""

    sign: dict[str, int] = field(default_factory=dict)
    wstar: dict[str, Decimal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    goals: dict[str, Decimal] = field(default_factory=dict)
    """The class goals the directions were chosen for (see :func:`~.drift.class_goals`)."""
    blocked: frozenset[str] = frozenset()
    """Symbols never bought (see :func:`~.heuristic.blocked_for_buying`)."""


def _harvestable(book: Book, symbols: list[str], options: PlanOptions, round_trip: Decimal) -> Decimal:
    """Dollars of lots among ``symbols`` whose sale saves more tax than selling and replacing them costs
    (``round_trip``: the cost of a sale and a purchase per dollar, twice the cost model's rate)."""
    total = ZERO
    excluded = options.exclude_symbols
    for symbol in symbols:
        if symbol in excluded:
            continue
        for f in book.by_symbol.get(symbol, ()):
            cost = f.cost_per_share
            # a lot that costs tax (or nothing) never pays for a round trip (which costs >= 0): the
            # division only for losses
            if cost < ZERO and cost / f.price + round_trip < 0:
                total += f.value
    return total


def _no_candidate_warning(book: Book, cls: str, options: PlanOptions, blocked: frozenset[str]) -> str:
    members = list(book.securities.of_class(cls))
    unpriced = [s for s in members if s not in blocked and book.prices.get(s, ZERO) <= 0]
    parts = [f"{cls}: target {book.target[cls]}% but no security of the class can be bought"]
    if blocked & set(members):
        parts.append(f"excluded, restricted or do-not-buy: {', '.join(sorted(blocked & set(members)))}")
    if unpriced:
        parts.append(f"no price for {', '.join(unpriced)}")
    return "; ".join(parts)


def choose_directions(book: Book, options: PlanOptions, tax: TaxInputs | None) -> Directions:
    """Directions per identical group and the security-level tracking targets (see the module doc)."""
    goals = class_goals(book, options)
    values = book.class_values()
    blocked = blocked_for_buying(options, tax)
    sec = book.securities
    out = Directions(goals=goals, blocked=blocked)
    round_trip = 2 * options.costs.rate
    held_by_class: dict[str, list[str]] = {}
    classes = book.classes  # every held symbol
    for s in book.holdings:
        held_by_class.setdefault(classes[s], []).append(s)
    group_of = {s: sec.identical_group(s) for s in book.holdings}
    for cls in book.target:
        held = held_by_class.get(cls, [])
        delta = goals[cls] - values[cls]
        if cls == CASH:
            for s in held:  # selling a cash fund into cash never moves a class weight: the QP decides
                out.sign[s] = -1
                out.wstar[s] = book.holdings[s]
            continue
        groups: dict[str, list[str]] = {}
        for s in held:
            groups.setdefault(group_of[s], []).append(s)
        harvestable = {g: _harvestable(book, members, options, round_trip) for g, members in groups.items()}
        harvest = {g for g, value in harvestable.items() if value > 0}
        loss_value = sum(harvestable.values(), ZERO)
        shrink_all = delta < 0 and loss_value < -delta
        sell_groups = set(groups) if shrink_all else harvest
        sells = [s for s in held if group_of[s] in sell_groups]
        buys = [s for s in held if group_of[s] not in sell_groups and s not in blocked]
        if not buys and (delta > 0 or sells) and not shrink_all:
            buys = [s for s in buy_candidates(book, cls, blocked=blocked, sold_groups=sell_groups) if s not in held]
            if not buys and delta > 0:
                # nothing else to buy: keep the losses rather than leave the class short
                sell_groups, sells = set(), []
                buys = [s for s in held if s not in blocked]
                if not buys:
                    buys = buy_candidates(book, cls, blocked=blocked, sold_groups=())
        if delta > 0 and not buys and book.target[cls] > 0:
            out.warnings.append(_no_candidate_warning(book, cls, options, blocked))
        scale = goals[cls] / values[cls] if delta < 0 and values[cls] > 0 else Decimal(1)
        for s in held:
            if s in sells:
                out.sign[s] = -1
                out.wstar[s] = book.holdings[s] * scale
            else:  # times 1: the same Decimal (a holding has at most the context's digits)
                out.sign[s] = 0
                out.wstar[s] = book.holdings[s]
        split = split_buy(book, buys, max(delta, ZERO))
        for s in buys:
            out.sign[s] = 1
            out.wstar[s] = book.holdings.get(s, ZERO) + split.get(s, ZERO)
    for s in book.holdings:  # anything left (no target class): held still
        out.sign.setdefault(s, 0)
        out.wstar.setdefault(s, book.holdings[s])
    return out


def prepare_qp(
    book: Book, options: PlanOptions, tax: TaxInputs | None, covariance: Covariance | None
) -> tuple[QPData, list[str]]:
    """The QP of a full or threshold rebalance of ``book`` and the warnings of choosing directions."""
    directions = choose_directions(book, options, tax)
    qp = build_qp(
        book,
        options,
        directions=directions.sign,
        wstar_values=directions.wstar,
        goals=directions.goals,
        covariance=covariance,
        blocked_buy=directions.blocked,
    )
    return qp, directions.warnings


def optimizer_intent(
    book: Book, options: PlanOptions, tax: TaxInputs | None, covariance: Covariance | None
) -> tuple[Intent, str]:
    """The optimizer's intent and the solver's name. Raises on a failed solve."""
    qp, warnings = prepare_qp(book, options, tax, covariance)
    if options.backend in ("cvxpy", "cvxpy-osqp"):
        # imported here: cvxpy is the reference route only, and importing it costs a planner process
        # ~70 MB of memory and ~1 s (the default route never needs it)
        from .cvxpy_backend import solve_cvxpy

        solver = "CLARABEL" if options.backend == "cvxpy" else "OSQP"
        buys, sells, _ = solve_cvxpy(qp, solver=solver)
        name = f"cvxpy/{solver}"
    else:
        buys, sells = solve_osqp(qp)
        name = "osqp"
    intent = Intent(drift_driven=True, warnings=list(warnings))
    V = book.total
    cent = 0.01 / qp.total  # a cent, as a fraction of the account
    symbols = qp.symbols
    buy_list = buys.tolist()
    for i in np.flatnonzero(buys >= cent).tolist():
        dollars = Decimal(repr(buy_list[i])) * V
        if dollars >= _CENT:
            intent.add_buy(symbols[i], dollars)
    kept = np.where(sells >= cent, sells, 0.0)  # below a cent a lot is not sold
    per_security = np.bincount(qp.lot_sec, weights=kept, minlength=qp.n_sec) * qp.total
    per_list = per_security.tolist()
    prices, held, by_symbol = book.prices, book.shares, book.by_symbol
    quantum = _MICRO if book.account.fractional else _ONE
    sell_lots = intent.sell_lots
    for i in np.flatnonzero(per_security >= 0.01).tolist():
        symbol = symbols[i]
        dollars = Decimal(repr(per_list[i]))
        left = (dollars / prices[symbol]).quantize(quantum, ROUND_HALF_UP)  # see round_shares
        if held[symbol] < left:
            left = held[symbol]
        for f in by_symbol[symbol]:  # tax order, as sell_from_lots
            if left <= ZERO:
                break
            lot = f[0]
            take = lot.shares
            if left < take:
                take = left
            if take > ZERO:
                # each lot once, into an empty intent: ``ZERO +`` as the sum of the lot's sells would be
                sell_lots[lot.lot_id] = ZERO + take
                left -= take
    return intent, name
