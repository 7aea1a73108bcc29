"""Market data handlers: the run's quotes (``fetch``) and history/quote queries for other services."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta

import pandas as pd

from contracts import FetchMarketData, MarketDataFetched, Quote, decode_as, subjects
from contracts.queries import HistoryQuery, HistoryReply, QuotesQuery, QuotesReply
from services.market_data.domain import (
    DEFAULT_MARKET_DIR,
    FileMarketDataProvider,
    MarketDataError,
    UnknownSymbolError,
)
from services.market_data.domain import Quote as DomainQuote
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError, NotFoundError
from shared.log import get_logger

__all__ = ["MarketDataService"]

log = get_logger("market_data")


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


class MarketDataService:
    def __init__(self, runtime: ServiceRuntime, provider: FileMarketDataProvider | None = None) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.provider = provider or FileMarketDataProvider(
            settings.market_data_dir or DEFAULT_MARKET_DIR,
            stale_after_trading_days=settings.stale_after_trading_days,
        )

    def register(self) -> None:
        self.runtime.command(subjects.MARKET_DATA_FETCH, FetchMarketData, self.fetch)
        self.runtime.query(subjects.MARKET_DATA_QUERY_QUOTES, self.quotes_query)
        self.runtime.query(subjects.MARKET_DATA_QUERY_HISTORY, self.history_query)

    def run_date(self, requested: date | None) -> date:
        """The run's date: as asked, else the deployment's, else the last date of the data."""
        return requested or self.runtime.settings.as_of_date or self.provider.last_date()

    def quotes(self, symbols: list[str], as_of: date) -> tuple[dict[str, Quote], list[str]]:
        try:
            found = self.provider.quotes(sorted(set(symbols)), as_of)
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
        as_of = self.run_date(command.as_of)
        quotes, warnings = self.quotes(command.symbols, as_of)
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
        as_of = self.run_date(query.as_of)
        quotes, warnings = self.quotes(query.symbols, as_of)
        return QuotesReply(as_of=as_of, quotes=quotes, warnings=warnings)

    async def history_query(self, body: bytes) -> HistoryReply:
        query = decode_as(body, HistoryQuery)
        return self.history(query)

    def history(self, query: HistoryQuery) -> HistoryReply:
        """Adjusted closes over the window, clamped to the dates every requested series covers."""
        end = query.end or self.run_date(None)
        start = query.start or end - timedelta(days=query.lookback_days or 3 * 365)
        try:
            for symbol in query.symbols:
                first, last = self.provider.date_range(symbol)
                start, end = max(start, first), min(end, last)
            for name in query.indices:
                first, last = self.provider.index_date_range(name)
                start, end = max(start, first), min(end, last)
            if start > end:
                raise InvalidInputError(f"no common history for {', '.join([*query.symbols, *query.indices])}")
            panel = self.provider.history(query.symbols, start, end) if query.symbols else None
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
