"""Lot relief: the order in which a sale consumes the open lots of one symbol in one account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from shared.holding_period import Term

from .accounts import LotMethod
from .lots import Lot

__all__ = ["relief_order"]


def relief_order(lots: Sequence[Lot], method: LotMethod, *, sale_date: date, net_price: Decimal) -> list[int]:
    """Indices of ``lots`` in the order ``method`` relieves them.

    ``lots`` must be given in the order they were opened (the final tie-break). ``net_price`` is the sale
    price per share net of fees, used by ``min_tax`` to tell gains from losses. ``specific`` without a
    named lot behaves as FIFO (the caller picks the named lot itself).
    """
    indices = list(range(len(lots)))

    def by_age(i: int) -> tuple[date, int]:
        return (lots[i].acquired, i)

    if method in (LotMethod.FIFO, LotMethod.SPECIFIC):
        return sorted(indices, key=by_age)
    if method is LotMethod.LIFO:
        return sorted(indices, key=lambda i: (-lots[i].acquired.toordinal(), -i))
    if method is LotMethod.HIFO:
        return sorted(indices, key=lambda i: (-lots[i].basis_per_share, *by_age(i)))
    return sorted(indices, key=lambda i: _min_tax_key(lots[i], i, sale_date, net_price))


def _min_tax_key(lot: Lot, index: int, sale_date: date, net_price: Decimal) -> tuple[object, ...]:
    gain_per_share = net_price - lot.basis_per_share
    term = lot.term_on(sale_date)
    if gain_per_share < 0:
        bucket = 0 if term is Term.SHORT else 1
        magnitude = gain_per_share  # most negative (largest loss) first
    else:
        bucket = 2 if term is Term.LONG else 3
        magnitude = gain_per_share  # smallest gain first
    return (bucket, magnitude, lot.acquired, index)
