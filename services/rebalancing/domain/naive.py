"""The original workflow's naive proportional method, kept for benchmark comparison only.

For each class off target by more than $100: trade the *first* holding of the class (by symbol)
for the whole difference, whole shares rounded down, sells taken FIFO. No tax awareness.
"""

from __future__ import annotations

from decimal import Decimal

from shared.money import floor_shares

from .book import CASH, Book
from .intent import Intent
from .lots import sell_from_lots

__all__ = ["naive_intent"]

_MIN_DIFFERENCE = Decimal(100)


def naive_intent(book: Book) -> Intent:
    intent = Intent()
    values = book.class_values()
    for cls, pct in book.target.items():
        if cls == CASH:
            continue
        diff = pct * book.total / 100 - values[cls]
        if abs(diff) <= _MIN_DIFFERENCE:
            continue
        held = [s for s in book.holdings if book.class_of(s) == cls]
        if not held:
            continue
        symbol = held[0]
        shares = floor_shares(abs(diff) / book.price(symbol))
        if shares <= 0:
            continue
        intent.purpose[symbol] = "naive proportional rebalance"
        if diff > 0:
            intent.add_buy(symbol, shares * book.price(symbol))
        else:
            for lot_id, take in sell_from_lots(
                book, symbol, min(shares, book.shares[symbol]), fifo=True
            ).items():
                intent.add_sell(lot_id, take)
    return intent
