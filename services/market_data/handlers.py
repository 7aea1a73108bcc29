"""Market data handlers: the run's market snapshot (``fetch``) and history/quote queries for other services.

``fetch`` with no symbols (what the coordinator sends) prices the whole security master that has data on
the run's date once per date: the snapshot's prices part, stored by content key in KV ``snapshots`` and
kept in memory; the run gets its id. ``fetch`` with symbols (a version-1 client) answers their quotes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, TypeVar

import pandas as pd

from contracts import (
    FetchMarketData,
    MarketDataFetched,
    MarketDataFetchedV2,
    Quote,
    SnapshotPrices,
    decode_as,
    snapshot_id,
    subjects,
)
from contracts.queries import HistoryQuery, HistoryReply, QuotesQuery, QuotesReply
from services.market_data.domain import (
    DEFAULT_MARKET_DIR,
    DateOutOfRangeError,
    FileMarketDataProvider,
    HttpMarketDataProvider,
    MarketDataError,
    MarketDataProvider,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    UnknownSymbolError,
)
from services.market_data.domain import Quote as DomainQuote
from shared.bus.lru import LRU
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError, NotFoundError, RebalancerError, TransientError
from shared.log import get_logger
from shared.market_window import fetch_start, last_sessions
from shared.securities import SecurityMaster, default_securities
from shared.settings import Settings

__all__ = ["MarketDataService", "provider_from", "service_error"]

log = get_logger("market_data")
T = TypeVar("T")
LAST_DATE_TTL_SECONDS = 60.0
"""How long the last date of the data is remembered (the file provider reads every price file for it)."""


def stale_warning(quote: Quote, as_of: date) -> str:
    return (
        f"stale price: {quote.symbol} last traded {quote.as_of.isoformat()}, {quote.age_trading_days} trading "
        f"days before {as_of.isoformat()}"
    )


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
            rate=settings.market_data_rate_per_second,
            burst=settings.market_data_rate_per_second,
            stale_after_trading_days=settings.stale_after_trading_days,
        )
    return FileMarketDataProvider(
        settings.market_data_dir or DEFAULT_MARKET_DIR, stale_after_trading_days=settings.stale_after_trading_days
    )


def service_error(exc: MarketDataError) -> RebalancerError:
    """The system's error for a market data error: a provider's timeout, rate limit or 5xx may pass
    (transient: the step is retried, HTTP 503); an unknown symbol is 404; the rest is bad input (400)."""
    if isinstance(exc, UnknownSymbolError):
        return NotFoundError(str(exc))
    if isinstance(exc, (ProviderTimeoutError, RateLimitedError)):
        return TransientError(str(exc))
    if isinstance(exc, ProviderError) and exc.status is not None and exc.status >= 500:
        return TransientError(str(exc))
    return InvalidInputError(str(exc))


class MarketDataService:
    def __init__(
        self,
        runtime: ServiceRuntime,
        provider: MarketDataProvider | None = None,
        securities: SecurityMaster | None = None,
    ) -> None:
        self.runtime = runtime
        self.provider = provider or provider_from(runtime.settings)
        self.securities = securities or default_securities()
        self._snapshots: LRU[date, SnapshotPrices] = LRU(runtime.settings.snapshot_cache_size)
        self._snapshot_builds: dict[date, asyncio.Future[SnapshotPrices]] = {}
        self._last_date: tuple[float, date] | None = None
        self.snapshots_built = 0
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
            chosen = await self.last_date()
        return chosen

    async def last_date(self) -> date:
        """The last date of the data, remembered for a minute (not one read of every file per run)."""
        now = time.monotonic()
        if self._last_date is None or now - self._last_date[0] > LAST_DATE_TTL_SECONDS:
            self._last_date = (now, await self._call(self.provider.last_date))
        return self._last_date[1]

    def _universe_quotes(self, as_of: date) -> dict[str, DomainQuote]:
        """The quote of every security of the master that has data on ``as_of`` (others are left out)."""
        found: dict[str, DomainQuote] = {}
        for symbol in sorted(self.securities):
            try:
                quote = self.provider.quote(symbol, as_of)
            except (UnknownSymbolError, DateOutOfRangeError):
                continue
            found[quote.symbol] = quote
        return found

    async def snapshot(self, as_of: date) -> SnapshotPrices:
        """The prices part of the market snapshot of ``as_of``: from memory, else KV, else built and stored.

        Concurrent requests for the same date share one build; another process building it at the same
        time writes identical content under the same key."""
        cached = self._snapshots.get(as_of)
        if cached is not None:
            return cached
        pending = self._snapshot_builds.get(as_of)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[SnapshotPrices] = asyncio.get_running_loop().create_future()
        self._snapshot_builds[as_of] = future
        try:
            built = await self._build_snapshot(as_of)
            self._snapshots.put(as_of, built)
            future.set_result(built)
            return built
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._snapshot_builds[as_of]

    async def _build_snapshot(self, as_of: date) -> SnapshotPrices:
        try:
            found = await self._call(self._universe_quotes, as_of)
        except MarketDataError as exc:
            raise InvalidInputError(str(exc)) from None
        if not found:
            raise InvalidInputError(f"no security of the master has prices on {as_of.isoformat()}")
        quotes = {symbol: _contract_quote(q) for symbol, q in sorted(found.items())}
        rules = f"{getattr(self.provider, 'source', type(self.provider).__name__)}:"
        rules += f"stale>{self.runtime.settings.stale_after_trading_days}"
        ident = snapshot_id(as_of, list(quotes), rules=rules)
        store = await self.runtime.snapshots()
        stored = await store.find_prices(ident)
        if stored is not None:
            return stored
        snapshot = SnapshotPrices(
            snapshot_id=ident,
            as_of=as_of,
            symbols=list(quotes),
            quotes=quotes,
            warnings={q.symbol: stale_warning(q, as_of) for q in quotes.values() if q.stale},
        )
        await store.put_prices(snapshot)
        self.snapshots_built += 1
        log.info("market snapshot stored", snapshot_id=ident, symbols=len(quotes), stale=len(snapshot.warnings))
        return snapshot

    async def quotes(self, symbols: list[str], as_of: date) -> tuple[dict[str, Quote], list[str]]:
        try:
            found = await self._call(self.provider.quotes, sorted(set(symbols)), as_of)
        except MarketDataError as exc:
            raise service_error(exc) from None
        quotes = {symbol: _contract_quote(q) for symbol, q in sorted(found.items())}
        warnings = [stale_warning(q, as_of) for q in quotes.values() if q.stale]
        return quotes, warnings

    async def fetch(self, command: FetchMarketData) -> Sequence[Outgoing]:
        as_of = await self.run_date(command.as_of)
        if not command.symbols:  # the run's snapshot: every security of the master, priced once per date
            snapshot = await self.snapshot(as_of)
            fetched = MarketDataFetchedV2(
                **result_envelope(command, self.runtime.clock.now()), as_of=as_of, snapshot_id=snapshot.snapshot_id
            )
            return [Outgoing(subjects.MARKET_DATA_FETCHED, fetched, fetched.message_id)]
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
        snapshot = self._snapshots.get(as_of)
        if snapshot is not None and all(s in snapshot.quotes for s in query.symbols):  # priced already
            quotes = {s: snapshot.quotes[s] for s in sorted(set(query.symbols))}
            warnings = [snapshot.warnings[s] for s in quotes if s in snapshot.warnings]
            return QuotesReply(as_of=as_of, quotes=quotes, warnings=warnings)
        quotes, warnings = await self.quotes(query.symbols, as_of)
        return QuotesReply(as_of=as_of, quotes=quotes, warnings=warnings)

    async def history_query(self, body: bytes) -> HistoryReply:
        query = decode_as(body, HistoryQuery)
        end = query.end or await self.run_date(None)
        return await self._call(self.history, query, end)

    def history(self, query: HistoryQuery, end: date) -> HistoryReply:
        """Adjusted closes over the window, clamped (with the file provider) to the dates every requested
        series covers; with the HTTP provider, the days where every series has a value."""
        if query.sessions is not None:  # the one look-back rule: trading days ending on or before ``end``
            start = fetch_start(self._data_end(query, end), query.sessions)
        else:
            start = query.start or end - timedelta(days=query.lookback_days or 3 * 365)
        if not query.common_window:
            return _cut_to_sessions(self._history_each(query, start, end), query.sessions)
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
        except MarketDataError as exc:
            raise service_error(exc) from None
        if panel is not None:
            dates = pd.DatetimeIndex(panel.index)
        else:
            dates = pd.DatetimeIndex(next(iter(indices.values())).index) if indices else pd.DatetimeIndex([])
        return _cut_to_sessions(
            HistoryReply(
                dates=[d.date() for d in dates],
                closes={s: _floats(panel[s], dates) for s in panel.columns} if panel is not None else {},
                indices={name: _floats(series, dates) for name, series in indices.items()},
            ),
            query.sessions,
        )

    def _data_end(self, query: HistoryQuery, end: date) -> date:
        """The last day on or before ``end`` the window can end on: with the file provider, where the data
        stops (the last day every series has, or the latest of the securities' for a window not clamped);
        other providers are asked up to ``end``."""
        provider = self.provider
        if not isinstance(provider, FileMarketDataProvider):
            return end
        try:
            symbols = [provider.date_range(symbol)[1] for symbol in query.symbols]
            indices = [provider.index_date_range(name)[1] for name in query.indices]
        except MarketDataError as exc:
            raise service_error(exc) from None
        if query.common_window:
            lasts = [*symbols, *indices]
            return min([end, *lasts])
        return min(end, max(symbols or indices or [end]))

    def _history_each(self, query: HistoryQuery, start: date, end: date) -> HistoryReply:
        """Each series over its own dates inside ``[start, end]`` (``None`` where it has no data); the
        window is not clamped to what every series covers."""
        columns: dict[str, pd.Series] = {}
        try:
            for symbol in query.symbols:
                series = self._own_window(symbol, start, end, index=False)
                if series is not None:
                    columns[symbol] = series
            for name in query.indices:
                series = self._own_window(name, start, end, index=True)
                if series is not None:
                    columns["^" + name] = series
        except UnknownSymbolError as exc:
            raise NotFoundError(str(exc)) from None
        except MarketDataError as exc:
            raise InvalidInputError(str(exc)) from None
        panel = pd.concat(columns, axis=1).sort_index() if columns else pd.DataFrame()
        dates = pd.DatetimeIndex(panel.index)
        return HistoryReply(
            dates=[d.date() for d in dates],
            closes={s: _floats(panel[s], dates) for s in columns if not s.startswith("^")},
            indices={s[1:]: _floats(panel[s], dates) for s in columns if s.startswith("^")},
        )

    def _own_window(self, name: str, start: date, end: date, *, index: bool) -> pd.Series | None:
        """One series over ``[start, end]`` cut to its own data (``None`` when it has none there)."""
        provider = self.provider
        if isinstance(provider, FileMarketDataProvider):
            first, last = provider.index_date_range(name) if index else provider.date_range(name)
            start, end = max(start, first), min(end, last)
            if start > end:
                return None
        try:
            if index:
                return provider.index_history(name, start, end)
            panel = provider.history([name], start, end)
        except DateOutOfRangeError:
            return None
        return panel[panel.columns[0]] if len(panel.columns) else None


def _cut_to_sessions(reply: HistoryReply, sessions: int | None) -> HistoryReply:
    """``reply`` from the first of its last ``sessions`` + 1 trading days (days some security has a
    close; an index alone, such as VIX or IRX past the securities' data, does not make a trading day)."""
    if sessions is None or not reply.dates:
        return reply
    if reply.closes:
        traded = [d for i, d in enumerate(reply.dates) if any(v[i] is not None for v in reply.closes.values())]
    else:
        traded = list(reply.dates)
    kept = last_sessions(traded, sessions)
    if not kept:
        return reply
    first, last = kept[0], kept[-1]
    keep = [i for i, d in enumerate(reply.dates) if first <= d <= last]
    return HistoryReply(
        dates=[reply.dates[i] for i in keep],
        closes={s: [v[i] for i in keep] for s, v in reply.closes.items()},
        indices={n: [v[i] for i in keep] for n, v in reply.indices.items()},
    )
