"""A provider over the shipped history (``shared/data/market``): as-of quotes and history windows.

Files are read lazily, on the first request for a symbol, and cached for the provider's life.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ._exceptions import DateOutOfRangeError, InvalidWindowError, UnknownSymbolError
from .calendar import TradingCalendar, nyse_calendar
from .csv_store import (
    DEFAULT_MARKET_DIR,
    IndexSeries,
    PriceSeries,
    last_csv_date,
    read_index_csv,
    read_price_csv,
)
from .provider import INDEX_NAMES, quotes_of
from .quote import Quote, make_quote

__all__ = ["DEFAULT_STALE_AFTER_TRADING_DAYS", "FileMarketDataProvider"]

DEFAULT_STALE_AFTER_TRADING_DAYS = 1
"""A quote is stale when its date is more than this many NYSE sessions before ``as_of``."""


class FileMarketDataProvider:
    """Answers from ``<root>/prices/<SYMBOL>.csv`` and ``<root>/indices/<NAME>.csv``.

    ``quote(symbol, as_of)`` uses the latest row at or before ``as_of``; ``as_of`` before the
    symbol's first row is a :class:`DateOutOfRangeError`, after its last row the quote is returned
    and flagged stale. ``history`` windows must lie inside each symbol's data.
    """

    source = "file"

    def __init__(
        self,
        root: Path | str = DEFAULT_MARKET_DIR,
        *,
        calendar: TradingCalendar | None = None,
        stale_after_trading_days: int = DEFAULT_STALE_AFTER_TRADING_DAYS,
    ) -> None:
        self.root = Path(root)
        self.calendar = calendar or nyse_calendar()
        self.stale_after_trading_days = stale_after_trading_days
        self._prices: dict[str, PriceSeries] = {}
        self._indices: dict[str, IndexSeries] = {}
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------
    def symbols(self) -> list[str]:
        """Every symbol with a price file, sorted."""
        return sorted(p.stem for p in (self.root / "prices").glob("*.csv"))

    def _series(self, symbol: str) -> PriceSeries:
        key = symbol.strip().upper()
        with self._lock:
            cached = self._prices.get(key)
            if cached is not None:
                return cached
            path = self.root / "prices" / f"{key}.csv"
            if not key.isalnum() or not path.is_file():
                raise UnknownSymbolError(symbol, f"no file prices/{key}.csv under {self.root}")
            series = read_price_csv(path, key)
            self._prices[key] = series
            return series

    def _index(self, name: str) -> IndexSeries:
        key = name.strip().upper().lstrip("^")
        if key not in INDEX_NAMES:
            raise UnknownSymbolError(name, f"known indices: {', '.join(INDEX_NAMES)}")
        with self._lock:
            if key not in self._indices:
                self._indices[key] = read_index_csv(self.root / "indices" / f"{key}.csv", key)
            return self._indices[key]

    def date_range(self, symbol: str) -> tuple[dt.date, dt.date]:
        """First and last date of ``symbol``'s history."""
        s = self._series(symbol)
        return s.first, s.last

    def index_date_range(self, name: str) -> tuple[dt.date, dt.date]:
        s = self._index(name)
        return s.first, s.last

    def last_date(self) -> dt.date:
        """The latest date of any price file (2026-05-01 for the shipped data)."""
        files = list((self.root / "prices").glob("*.csv"))
        if not files:
            raise UnknownSymbolError("*", f"no price files under {self.root}")
        return max(last_csv_date(p) for p in files)

    # -- quotes ----------------------------------------------------------------------------
    def quote(self, symbol: str, as_of: dt.date) -> Quote:
        s = self._series(symbol)
        pos = s.position_at_or_before(as_of)
        if pos < 1:
            # the first row has no previous close to compare with
            raise DateOutOfRangeError(
                s.symbol, f"quote as of {as_of.isoformat()}", s.dates[min(1, len(s.dates) - 1)].date(), s.last
            )
        date = s.dates[pos].date()
        return make_quote(
            symbol=s.symbol,
            as_of=as_of,
            date=date,
            close=Decimal(s.close_unadj_text[pos]),
            previous_date=s.dates[pos - 1].date(),
            previous_close=Decimal(s.close_unadj_text[pos - 1]),
            adjusted_close=Decimal(s.adj_close_text[pos]),
            age_trading_days=self.calendar.trading_days_between(date, as_of),
            stale_after_trading_days=self.stale_after_trading_days,
            source=self.source,
        )

    def quotes(self, symbols: Iterable[str], as_of: dt.date) -> dict[str, Quote]:
        return quotes_of(self, symbols, as_of)

    # -- history ---------------------------------------------------------------------------
    def history(self, symbols: Iterable[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Adjusted closes, dates x symbols, over ``[start, end]`` (both inside every symbol's data)."""
        if start > end:
            raise InvalidWindowError(start, end)
        columns: dict[str, pd.Series] = {}
        for symbol in symbols:
            s = self._series(symbol)
            if start < s.first or end > s.last:
                window = f"window {start.isoformat()} .. {end.isoformat()}"
                raise DateOutOfRangeError(s.symbol, window, s.first, s.last)
            full = pd.Series(s.adj_close, index=s.dates, name=s.symbol)
            columns[s.symbol] = full.loc[pd.Timestamp(start) : pd.Timestamp(end)]
        if not columns:
            raise ValueError("history needs at least one symbol")
        panel = pd.concat(columns, axis=1)
        panel.index.name = "date"
        return panel

    def index_history(self, name: str, start: dt.date, end: dt.date) -> pd.Series:
        """Index closes over ``[start, end]``; VIX in points, IRX/TNX in percent."""
        if start > end:
            raise InvalidWindowError(start, end)
        s = self._index(name)
        if start < s.first or end > s.last:
            window = f"window {start.isoformat()} .. {end.isoformat()}"
            raise DateOutOfRangeError(s.name, window, s.first, s.last)
        return s.values.loc[pd.Timestamp(start) : pd.Timestamp(end)].copy()
