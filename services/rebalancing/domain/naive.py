"""The original workflow's naive proportional method, kept for benchmark comparison only.

For each class off target by more than $100: trade the *first* holding of the class (by symbol)
for the whole difference, whole shares rounded down, sells taken FIFO. No tax awareness. Where the
first holding is too small for the sale (the original would oversell), the rest comes from the
next holdings in the same order, so the naive plan reaches about the same drift.
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
        if diff > 0:
            symbol = held[0]
            intent.purpose[symbol] = "naive proportional rebalance"
            intent.add_buy(symbol, floor_shares(diff / book.price(symbol)) * book.price(symbol))
            continue
        left = -diff
        for symbol in held:
            price = book.price(symbol)
            shares = min(floor_shares(left / price), book.shares[symbol])
            if shares <= 0:
                break
            intent.purpose[symbol] = "naive proportional rebalance"
            for lot_id, take in sell_from_lots(book, symbol, shares, fifo=True).items():
                intent.add_sell(lot_id, take)
            left -= shares * price
    return intent
