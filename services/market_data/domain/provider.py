"""The provider interface every market data source implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import pandas as pd

from .quote import Quote

__all__ = ["INDEX_NAMES", "MarketDataProvider", "quotes_of"]

INDEX_NAMES = ("VIX", "IRX", "TNX")
"""Indices a provider serves: VIX (index points), IRX and TNX (annualized yield, percent)."""


@runtime_checkable
class MarketDataProvider(Protocol):
    """Prices as of a date and history windows.

    - ``quote``: the latest close at or before ``as_of`` (see :class:`Quote`).
    - ``quotes``: ``quote`` for several symbols, keyed by symbol, in the order given.
    - ``history``: adjusted closes (total return), a float DataFrame indexed by date
      (``DatetimeIndex`` named ``date``) with one column per symbol, rows ``start..end`` inclusive.
    - ``index_history``: one index (``INDEX_NAMES``) as a float Series over ``start..end``.
    - ``last_date``: the last trading day the provider has prices for.

    Unknown symbols raise ``UnknownSymbolError``; dates outside the data ``DateOutOfRangeError``.
    """

    def quote(self, symbol: str, as_of: dt.date) -> Quote: ...

    def quotes(self, symbols: Iterable[str], as_of: dt.date) -> dict[str, Quote]: ...

    def history(self, symbols: Iterable[str], start: dt.date, end: dt.date) -> pd.DataFrame: ...

    def index_history(self, name: str, start: dt.date, end: dt.date) -> pd.Series: ...

    def last_date(self) -> dt.date: ...


def quotes_of(provider: MarketDataProvider, symbols: Iterable[str], as_of: dt.date) -> dict[str, Quote]:
    """``provider.quote`` for each symbol, keyed by the symbol as the provider spells it, in the order given."""
    out: dict[str, Quote] = {}
    for symbol in symbols:
        q = provider.quote(symbol, as_of)
        out[q.symbol] = q
    return out
