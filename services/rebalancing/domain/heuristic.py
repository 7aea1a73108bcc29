"""The heuristic (the run's first version and the optimizer's fallback).

Every class moves to its goal (see :func:`~.drift.class_goals`) using every holding of the class:
an overweight class sells from each holding in proportion to its value, lots in tax order; an
underweight class buys over its holdings (or its default security). Cash is a class: it absorbs
the difference, and its funds (BIL, SGOV, ...) are sold when it must shrink by more than its spare cash. Rounding and
the constraints are applied by :func:`~.finalize.finalize`.
"""

from __future__ import annotations

from decimal import Decimal

from shared.money import ZERO

from .book import CASH, Book
from .buys import buy_candidates, split_buy
from .drift import class_goals
from .intent import Intent
from .lots import round_shares, sell_from_lots
from .model import PlanOptions, TaxInputs

__all__ = ["blocked_for_buying", "heuristic_intent", "sell_class"]


def blocked_for_buying(options: PlanOptions, tax: TaxInputs | None) -> frozenset[str]:
    return options.exclude_symbols | options.restricted_symbols | (tax.do_not_buy if tax else frozenset())


def sell_class(book: Book, options: PlanOptions, cls: str, dollars: Decimal, intent: Intent) -> Decimal:
    """Sell ``dollars`` of ``cls`` over its tradable holdings by value; returns dollars left unsold."""
    held = {s: v for s, v in book.holdings.items() if book.class_of(s) == cls and s not in options.exclude_symbols}
    total = sum(held.values(), ZERO)
    if total <= 0:
        return dollars
    dollars = min(dollars, total)
    for symbol, value in held.items():
        price = book.price(symbol)
        shares = min(
            round_shares(dollars * value / total / price, fractional=book.account.fractional),
            book.shares[symbol],
        )
        for lot_id, take in sell_from_lots(book, symbol, shares).items():
            intent.add_sell(lot_id, take)
    return ZERO


def heuristic_intent(book: Book, options: PlanOptions, tax: TaxInputs | None) -> Intent:
    """Trades that bring every class to its goal (full and threshold modes)."""
    intent = Intent(drift_driven=True)
    goals = class_goals(book, options)
    values = book.class_values()
    blocked = blocked_for_buying(options, tax)
    sold_groups: set[str] = set()
    spare_cash = book.cash - book.account.cash_reserve
    cash_short = values[CASH] - goals[CASH] - max(spare_cash, ZERO)
    if cash_short > 0:  # the cash class must shrink by more than its spare cash: sell cash funds
        sell_class(book, options, CASH, cash_short, intent)
    for cls in book.target:
        if cls == CASH:
            continue
        delta = goals[cls] - values[cls]
        if delta < 0:
            left = sell_class(book, options, cls, -delta, intent)
            if left > 0:
                intent.warnings.append(f"{cls}: cannot sell ${left:.2f} (nothing tradable held)")
            sold_groups |= {book.securities.identical_group(s) for s in book.holdings if book.class_of(s) == cls}
    for cls in book.target:
        if cls == CASH:
            continue
        delta = goals[cls] - values[cls]
        if delta > 0:
            symbols = buy_candidates(book, cls, blocked=blocked, sold_groups=sold_groups)
            if not symbols:
                intent.warnings.append(f"{cls}: no security may be bought")
            for symbol, dollars in split_buy(book, symbols, delta).items():
                intent.add_buy(symbol, dollars)
    return intent
