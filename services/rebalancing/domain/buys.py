"""Where the money for an underweight class goes.

Spread over every eligible holding of the class: by the shortfall against security-level targets
where the model gives them, else in proportion to current value. A class with no eligible holding
buys its default security (VTI equity, BND bond, VNQ reit, GLD commodity), or else the next security
of the class in the securities master. Never buys an excluded, restricted or do-not-buy symbol, nor
one substantially identical to a symbol the plan sells.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from shared.money import ZERO

from .book import CASH, Book

__all__ = ["DEFAULT_SECURITY", "buy_candidates", "split_buy"]

DEFAULT_SECURITY = {"equity": "VTI", "bond": "BND", "reit": "VNQ", "commodity": "GLD"}


def _eligible(book: Book, symbol: str, blocked: Collection[str], sold_groups: Collection[str]) -> bool:
    return (
        symbol not in blocked
        and book.securities.identical_group(symbol) not in sold_groups
        and book.prices.get(symbol, ZERO) > 0
    )


def buy_candidates(book: Book, cls: str, *, blocked: Collection[str], sold_groups: Collection[str]) -> list[str]:
    """Symbols to buy for ``cls``: eligible holdings of the class, else one default security."""
    if cls == CASH:
        return []
    classes = book.classes  # every held symbol
    held = [s for s in book.holdings if classes[s] == cls and _eligible(book, s, blocked, sold_groups)]
    if held:
        return held
    modelled: list[str] = []
    for s in sorted(book.account.security_targets):
        if s not in book.securities or book.class_of(s) != cls:
            continue
        # the model's security, else its first substitute that can be bought
        choices = (s, *book.account.substitutes.get(s, ()))
        pick = next((c for c in choices if c in book.securities and _eligible(book, c, blocked, sold_groups)), None)
        if pick is not None and pick not in modelled:
            modelled.append(pick)
    if modelled:
        return modelled
    default = DEFAULT_SECURITY.get(cls)
    for symbol in ([default] if default else []) + list(book.securities.of_class(cls)):
        if _eligible(book, symbol, blocked, sold_groups):
            return [symbol]
    return []


def _targets_with_substitutes(book: Book) -> dict[str, Decimal]:
    """Security targets, a substitute carrying the target of the model security it stands in for."""
    targets = dict(book.account.security_targets)
    for symbol, substitutes in book.account.substitutes.items():
        for substitute in substitutes:
            targets.setdefault(substitute, targets.get(symbol, ZERO))
    return targets


def split_buy(book: Book, symbols: list[str], dollars: Decimal) -> dict[str, Decimal]:
    """Split ``dollars`` over ``symbols``: by shortfall against security targets, else by value."""
    if not symbols or dollars <= 0:
        return {}
    targets = _targets_with_substitutes(book)
    weights: dict[str, Decimal]
    if any(s in targets for s in symbols):
        weights = {s: max(ZERO, targets.get(s, ZERO) * book.total / 100 - book.holdings.get(s, ZERO)) for s in symbols}
        if sum(weights.values(), ZERO) <= 0:
            weights = {s: targets.get(s, ZERO) for s in symbols}
    else:
        weights = {s: book.holdings.get(s, ZERO) for s in symbols}
    total = sum(weights.values(), ZERO)
    if total <= 0:
        weights = {s: Decimal(1) for s in symbols}
        total = Decimal(len(symbols))
    return {s: dollars * w / total for s, w in weights.items() if w > 0}
