"""Drift: allocation by asset class, signed deviations from target, bands and class goals.

Allocations and deviations are in percentage points of the account's total value (cash included;
cash is a class). A class is out of band when ``|current - target| > band.width(target)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from shared.money import ZERO

from .book import CASH, Book
from .model import Band, PlanOptions, RebalanceMode, RebalanceTo

__all__ = [
    "allocation",
    "any_out_of_band",
    "class_goals",
    "deviations",
    "needs_rebalancing",
    "out_of_band",
]

_HUNDRED = Decimal(100)


def allocation(class_values: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Class values (dollars) to percent of their sum."""
    total = sum(class_values.values(), ZERO)
    if total <= 0:
        return {c: ZERO for c in class_values}
    return {c: v * _HUNDRED / total for c, v in class_values.items()}


def deviations(current: Mapping[str, Decimal], target: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Signed deviation per class in points: current percent minus target percent."""
    classes = list(dict.fromkeys([*target, *current]))
    return {c: current.get(c, ZERO) - target.get(c, ZERO) for c in classes}


def out_of_band(current: Mapping[str, Decimal], target: Mapping[str, Decimal], band: Band) -> dict[str, bool]:
    """Class to whether it lies outside its band."""
    devs = deviations(current, target)
    return {c: abs(d) > band.width(target.get(c, ZERO)) for c, d in devs.items()}


def any_out_of_band(devs: Mapping[str, Decimal], target: Mapping[str, Decimal], band: Band) -> bool:
    """True when any of the deviations ``devs`` (see :func:`deviations`) lies outside its band."""
    return any(abs(d) > band.width(target.get(c, ZERO)) for c, d in devs.items())


def needs_rebalancing(current: Mapping[str, Decimal], target: Mapping[str, Decimal], band: Band) -> bool:
    """True when any class is outside its band."""
    return any_out_of_band(deviations(current, target), target, band)


def _edge(current: Decimal, target: Decimal, width: Decimal) -> Decimal:
    """The nearest band edge to ``current`` (in points)."""
    return target + width if current > target else target - width


def class_goals(book: Book, options: PlanOptions, *, total: Decimal | None = None) -> dict[str, Decimal]:
    """Dollar value each class should have after trading in the full and threshold modes.

    Full/target: every class at target. Otherwise only out-of-band classes move (to the target or
    to the band edge); the money they free or need is absorbed by the in-band classes that lie on
    the right side of their target (up to the target), and what remains by cash.
    """
    total = book.total if total is None else total
    target = book.target
    if options.mode is RebalanceMode.FULL and options.rebalance_to is RebalanceTo.TARGET:
        return {c: target[c] * total / _HUNDRED for c in target}
    values = book.class_values()
    current = allocation(values)
    flags = out_of_band(current, target, options.band)
    goals: dict[str, Decimal] = {}
    for c in target:
        if flags.get(c, False):
            pct = target[c]
            if options.rebalance_to is RebalanceTo.BAND_EDGE:
                pct = _edge(current[c], target[c], options.band.width(target[c]))
            goals[c] = pct * total / _HUNDRED
        else:
            goals[c] = values[c]
    residual = total - sum(goals.values(), ZERO)
    free = [c for c in target if not flags.get(c, False) and c != CASH]
    # classes that can absorb the residual, each up to its target
    room = {
        c: (target[c] * total / _HUNDRED - goals[c])
        for c in free
        if (target[c] * total / _HUNDRED - goals[c]) * residual > 0
    }
    room_total = sum((abs(r) for r in room.values()), ZERO)
    if room_total > 0:
        share = min(Decimal(1), abs(residual) / room_total)
        for c, r in sorted(room.items()):
            goals[c] += r * share
    goals[CASH] += total - sum(goals.values(), ZERO)
    return goals
