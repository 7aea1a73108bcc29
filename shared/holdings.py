"""An account's holdings by symbol, from its lots: what several services derive the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from contracts import Lot

__all__ = ["shares_by_symbol", "values_by_symbol"]


def shares_by_symbol(lots: Iterable[Lot]) -> dict[str, Decimal]:
    """Shares held by symbol, sorted by symbol."""
    shares: dict[str, Decimal] = {}
    for lot in lots:
        shares[lot.symbol] = shares.get(lot.symbol, Decimal(0)) + lot.shares
    return dict(sorted(shares.items()))


def values_by_symbol(lots: Iterable[Lot], prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Market value by symbol (shares times the close), sorted by symbol."""
    return {symbol: shares * prices[symbol] for symbol, shares in shares_by_symbol(lots).items()}
