"""A provider over a remote quote API (see :mod:`.chart_api` for the URL shape and fields).

Every request goes through a token bucket; responses are cached for ``cache_ttl`` seconds;
timeouts, connection errors, 5xx and 429 are retried with exponential backoff (``Retry-After``
honoured). Time and sleeping come from the injected :class:`Clock`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import httpx
import pandas as pd

from ._exceptions import (
    InvalidWindowError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    UnknownSymbolError,
)
from .calendar import TradingCalendar, nyse_calendar
from .chart_api import ChartBar, chart_params, chart_path, parse_chart
from .clock import Clock, SystemClock
from .file_provider import DEFAULT_STALE_AFTER_TRADING_DAYS
from .provider import INDEX_NAMES, quotes_of
from .quote import Quote, make_quote
from .rate_limit import TokenBucket
from .retry import RetryPolicy, parse_retry_after
from .ttl_cache import TTLCache

__all__ = ["HttpMarketDataProvider"]

_QUOTE_LOOKBACK_SESSIONS = 10


class HttpMarketDataProvider:
    """``base_url`` e.g. ``https://query1.finance.yahoo.com`` or a local test server."""

    source = "http"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        rate: float = 5.0,
        burst: float = 5.0,
        cache_ttl: float = 60.0,
        clock: Clock | None = None,
        calendar: TradingCalendar | None = None,
        stale_after_trading_days: int = DEFAULT_STALE_AFTER_TRADING_DAYS,
        reference_symbol: str = "SPY",
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.clock = clock or SystemClock()
        self.calendar = calendar or nyse_calendar()
        self.stale_after_trading_days = stale_after_trading_days
        self.reference_symbol = reference_symbol
        self.limiter = TokenBucket(rate, burst, self.clock)
        self.cache: TTLCache[list[ChartBar]] = TTLCache(cache_ttl, clock=self.clock)
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout))
        self.requests_sent = 0

    def close(self) -> None:
        self._client.close()

    # -- transport -------------------------------------------------------------------------
    def _get(self, remote_symbol: str, start: dt.date, end: dt.date) -> list[ChartBar]:
        key = (remote_symbol, start, end)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        url = self.base_url + chart_path(remote_symbol)
        params = chart_params(start, end)
        last_problem = ""
        kind: type[ProviderError] = ProviderError
        status: int | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            self.limiter.acquire()
            self.requests_sent += 1
            wait = self.retry.backoff(attempt)
            try:
                response = self._client.get(url, params=params)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                kind = ProviderTimeoutError
                last_problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
            else:
                status = response.status_code
                if status == 404:
                    raise UnknownSymbolError(remote_symbol, f"{url} answered 404")
                if status < 400:
                    try:
                        bars = parse_chart(response.json(), remote_symbol)
                    except ValueError as exc:
                        raise ProviderError(f"{remote_symbol}: invalid JSON ({exc})", url=url) from None
                    self.cache.set(key, bars)
                    return bars
                if not self.retry.retryable_status(status):
                    raise ProviderError(f"{remote_symbol}: HTTP {status} from {url}", status=status, url=url)
                kind = RateLimitedError if status == 429 else ProviderError
                last_problem = f"HTTP {status}"
                hinted = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
                if hinted is not None:
                    wait = min(hinted, self.retry.max_retry_after)
            if attempt < self.retry.max_attempts:
                self.clock.sleep(wait)
        raise kind(
            f"{remote_symbol}: gave up after {self.retry.max_attempts} attempts to {url} ({last_problem})",
            status=status,
            url=url,
        )

    # -- provider interface ----------------------------------------------------------------
    def _bars(self, symbol: str, start: dt.date, end: dt.date) -> list[ChartBar]:
        if start > end:
            raise InvalidWindowError(start, end)
        return self._get(symbol.strip().upper(), start, end)

    def quote(self, symbol: str, as_of: dt.date) -> Quote:
        start = self.calendar.sessions_back(as_of, _QUOTE_LOOKBACK_SESSIONS)
        bars = [b for b in self._bars(symbol, start, as_of) if b.date <= as_of]
        if len(bars) < 2:
            raise ProviderError(f"{symbol}: fewer than 2 closes between {start.isoformat()} and {as_of.isoformat()}")
        last, prev = bars[-1], bars[-2]
        return make_quote(
            symbol=symbol.strip().upper(),
            as_of=as_of,
            date=last.date,
            close=last.close,
            previous_date=prev.date,
            previous_close=prev.close,
            adjusted_close=last.adj_close,
            age_trading_days=self.calendar.trading_days_between(last.date, as_of),
            stale_after_trading_days=self.stale_after_trading_days,
            source=self.source,
        )

    def quotes(self, symbols: Iterable[str], as_of: dt.date) -> dict[str, Quote]:
        return quotes_of(self, symbols, as_of)

    def history(self, symbols: Iterable[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        columns: dict[str, pd.Series] = {}
        for symbol in symbols:
            bars = self._bars(symbol, start, end)
            idx = pd.DatetimeIndex([pd.Timestamp(b.date) for b in bars], name="date")
            columns[symbol.strip().upper()] = pd.Series([float(b.adj_close) for b in bars], index=idx)
        if not columns:
            raise ValueError("history needs at least one symbol")
        panel = pd.concat(columns, axis=1).sort_index()
        panel.index.name = "date"
        return panel

    def index_history(self, name: str, start: dt.date, end: dt.date) -> pd.Series:
        key = name.strip().upper().lstrip("^")
        if key not in INDEX_NAMES:
            raise UnknownSymbolError(name, f"known indices: {', '.join(INDEX_NAMES)}")
        bars = self._bars("^" + key, start, end)
        idx = pd.DatetimeIndex([pd.Timestamp(b.date) for b in bars], name="date")
        return pd.Series([float(b.close) for b in bars], index=idx, name=key)

    def last_date(self) -> dt.date:
        """Date of the reference symbol's latest bar over the last 10 sessions up to today."""
        today = self.clock.now().astimezone(dt.UTC).date()
        start = self.calendar.sessions_back(today, _QUOTE_LOOKBACK_SESSIONS)
        bars = self._bars(self.reference_symbol, start, today)
        if not bars:
            raise ProviderError(f"{self.reference_symbol}: no bars since {start.isoformat()}")
        return bars[-1].date
