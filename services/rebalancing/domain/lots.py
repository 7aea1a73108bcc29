"""Choosing lots to sell: tax order (lowest tax cost per share first, see
:func:`~.book.lot_tax_order`) or FIFO (the naive method), in whole shares unless the account allows
fractional."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from shared.money import ZERO, floor_shares

from .book import Book, LotFacts

__all__ = ["round_shares", "sell_from_lots", "shares_for_dollars"]

_MICRO = Decimal("0.000001")


def round_shares(shares: Decimal, *, fractional: bool, up: bool = False) -> Decimal:
    """Round to whole shares (or 6 decimals): half up, or up when ``up``."""
    quantum = _MICRO if fractional else Decimal(1)
    return shares.quantize(quantum, rounding=ROUND_CEILING if up else ROUND_HALF_UP)


def shares_for_dollars(dollars: Decimal, price: Decimal, *, fractional: bool) -> Decimal:
    """Whole shares (or fractional) that ``dollars`` buys, rounded down."""
    if dollars <= 0:
        return ZERO
    return floor_shares(dollars / price, fractional=fractional)


def sell_from_lots(
    book: Book,
    symbol: str,
    shares: Decimal,
    *,
    fifo: bool = False,
    available: dict[str, Decimal] | None = None,
) -> dict[str, Decimal]:
    """Lot id to shares for selling ``shares`` of ``symbol``, in tax order (or FIFO).

    ``available`` (lot id to shares still unsold) lets callers sell from what is left.
    """
    lots: list[LotFacts] = book.lots_of(symbol)
    if fifo:
        lots = sorted(lots, key=lambda f: (f.lot.acquired, f.lot_id))
    out: dict[str, Decimal] = {}
    left = shares
    for facts in lots:
        if left <= 0:
            break
        have = facts.lot.shares if available is None else available.get(facts.lot_id, ZERO)
        take = min(have, left)
        if take > 0:
            out[facts.lot_id] = take
            left -= take
    return out
