"""Market data handlers: the run's quotes (``fetch``) and history/quote queries for other services."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, TypeVar

import pandas as pd

from contracts import FetchMarketData, MarketDataFetched, Quote, decode_as, subjects
from contracts.queries import HistoryQuery, HistoryReply, QuotesQuery, QuotesReply
from services.market_data.domain import (
    DEFAULT_MARKET_DIR,
    FileMarketDataProvider,
    HttpMarketDataProvider,
    MarketDataError,
    MarketDataProvider,
    UnknownSymbolError,
)
from services.market_data.domain import Quote as DomainQuote
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError, NotFoundError
from shared.log import get_logger
from shared.settings import Settings

__all__ = ["MarketDataService", "provider_from"]

log = get_logger("market_data")
T = TypeVar("T")


def _contract_quote(quote: DomainQuote) -> Quote:
    return Quote(
        symbol=quote.symbol,
        as_of=quote.date,
        close=quote.close,
        previous_close=quote.previous_close,
        change=quote.change,
        change_percent=quote.change_percent,
        adjusted_close=quote.adjusted_close,
        stale=quote.stale,
        age_trading_days=quote.age_trading_days,
    )


def _floats(series: pd.Series, dates: pd.DatetimeIndex) -> list[float | None]:
    values = series.reindex(dates)
    return [None if math.isnan(v) else float(v) for v in values.to_numpy(dtype=float)]


def provider_from(settings: Settings) -> MarketDataProvider:
    """The file provider over the shipped history, or the HTTP provider (``MARKET_DATA_PROVIDER=http``)."""
    if settings.market_data_provider == "http":
        if not settings.market_data_url:
            raise ValueError("MARKET_DATA_URL is required with MARKET_DATA_PROVIDER=http")
        return HttpMarketDataProvider(
            settings.market_data_url,
            timeout=settings.market_data_timeout_seconds,
            stale_after_trading_days=settings.stale_after_trading_days,
        )
    return FileMarketDataProvider(
        settings.market_data_dir or DEFAULT_MARKET_DIR, stale_after_trading_days=settings.stale_after_trading_days
    )


class MarketDataService:
    def __init__(self, runtime: ServiceRuntime, provider: MarketDataProvider | None = None) -> None:
        self.runtime = runtime
        self.provider = provider or provider_from(runtime.settings)
        # Providers block (file reads, HTTP with retries): one worker thread keeps them off the event
        # loop and serializes them, so a provider needs no locking of its own.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="market-data")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def register(self) -> None:
        self.runtime.command(subjects.MARKET_DATA_FETCH, FetchMarketData, self.fetch)
        self.runtime.query(subjects.MARKET_DATA_QUERY_QUOTES, self.quotes_query)
        self.runtime.query(subjects.MARKET_DATA_QUERY_HISTORY, self.history_query)

    async def run_date(self, requested: date | None) -> date:
        """The run's date: as asked, else the deployment's, else the last date of the data."""
        chosen = requested or self.runtime.settings.as_of_date
        if chosen is None:
            chosen = await self._call(self.provider.last_date)
        return chosen

    async def quotes(self, symbols: list[str], as_of: date) -> tuple[dict[str, Quote], list[str]]:
        try:
            found = await self._call(self.provider.quotes, sorted(set(symbols)), as_of)
        except UnknownSymbolError as exc:
            raise NotFoundError(str(exc)) from None
        except MarketDataError as exc:
            raise InvalidInputError(str(exc)) from None
        quotes = {symbol: _contract_quote(q) for symbol, q in sorted(found.items())}
        warnings = [
            f"stale price: {q.symbol} last traded {q.as_of.isoformat()}, {q.age_trading_days} trading days "
            f"before {as_of.isoformat()}"
            for q in quotes.values()
            if q.stale
        ]
        return quotes, warnings

    async def fetch(self, command: FetchMarketData) -> Sequence[Outgoing]:
        as_of = await self.run_date(command.as_of)
        quotes, warnings = await self.quotes(command.symbols, as_of)
        for warning in warnings:
            log.warning("stale price", detail=warning)
        event = MarketDataFetched(
            **result_envelope(command, self.runtime.clock.now()),
            as_of=as_of,
            quotes=quotes,
            warnings=warnings,
        )
        return [Outgoing(subjects.MARKET_DATA_FETCHED, event, event.message_id)]

    async def quotes_query(self, body: bytes) -> QuotesReply:
        query = decode_as(body, QuotesQuery)
        as_of = await self.run_date(query.as_of)
        quotes, warnings = await self.quotes(query.symbols, as_of)
        return QuotesReply(as_of=as_of, quotes=quotes, warnings=warnings)

    async def history_query(self, body: bytes) -> HistoryReply:
        query = decode_as(body, HistoryQuery)
        end = query.end or await self.run_date(None)
        return await self._call(self.history, query, end)

    def history(self, query: HistoryQuery, end: date) -> HistoryReply:
        """Adjusted closes over the window, clamped (with the file provider) to the dates every requested
        series covers; with the HTTP provider, the days where every series has a value."""
        start = query.start or end - timedelta(days=query.lookback_days or 3 * 365)
        try:
            if isinstance(self.provider, FileMarketDataProvider):
                for symbol in query.symbols:
                    first, last = self.provider.date_range(symbol)
                    start, end = max(start, first), min(end, last)
                for name in query.indices:
                    first, last = self.provider.index_date_range(name)
                    start, end = max(start, first), min(end, last)
            if start > end:
                raise InvalidInputError(f"no common history for {', '.join([*query.symbols, *query.indices])}")
            panel = self.provider.history(query.symbols, start, end).dropna() if query.symbols else None
            indices = {name: self.provider.index_history(name, start, end) for name in query.indices}
        except UnknownSymbolError as exc:
            raise NotFoundError(str(exc)) from None
        except MarketDataError as exc:
            raise InvalidInputError(str(exc)) from None
        if panel is not None:
            dates = pd.DatetimeIndex(panel.index)
        else:
            dates = pd.DatetimeIndex(next(iter(indices.values())).index) if indices else pd.DatetimeIndex([])
        return HistoryReply(
            dates=[d.date() for d in dates],
            closes={s: _floats(panel[s], dates) for s in panel.columns} if panel is not None else {},
            indices={name: _floats(series, dates) for name, series in indices.items()},
        )
