"""Market data domain: quotes and history from pluggable providers (pure, no message bus).

- :class:`MarketDataProvider`: the provider protocol; :class:`Quote`: a close as of a date.
- :class:`FileMarketDataProvider`: the shipped history under ``shared/data/market``.
- :class:`HttpMarketDataProvider`: a Yahoo-chart-like JSON API with retries, rate limit, cache.
- :class:`TradingCalendar` / :func:`nyse_calendar`: NYSE sessions (``exchange_calendars`` XNYS).
"""

from ._exceptions import (
    CalendarError,
    DateOutOfRangeError,
    InvalidWindowError,
    MarketDataError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    UnknownSymbolError,
)
from .calendar import CALENDAR_END, CALENDAR_START, TradingCalendar, nyse_calendar
from .chart_api import ChartBar, chart_params, chart_path, parse_chart
from .clock import Clock, ManualClock, SystemClock
from .csv_store import DEFAULT_MARKET_DIR, PriceSeries, read_price_csv
from .file_provider import DEFAULT_STALE_AFTER_TRADING_DAYS, FileMarketDataProvider
from .http_provider import HttpMarketDataProvider
from .provider import INDEX_NAMES, MarketDataProvider
from .quote import Quote, make_quote
from .rate_limit import TokenBucket
from .retry import RetryPolicy, parse_retry_after
from .ttl_cache import TTLCache

__all__ = [
    "CALENDAR_END",
    "CALENDAR_START",
    "DEFAULT_MARKET_DIR",
    "DEFAULT_STALE_AFTER_TRADING_DAYS",
    "INDEX_NAMES",
    "CalendarError",
    "ChartBar",
    "Clock",
    "DateOutOfRangeError",
    "FileMarketDataProvider",
    "HttpMarketDataProvider",
    "InvalidWindowError",
    "ManualClock",
    "MarketDataError",
    "MarketDataProvider",
    "PriceSeries",
    "ProviderError",
    "ProviderTimeoutError",
    "Quote",
    "RateLimitedError",
    "RetryPolicy",
    "SystemClock",
    "TTLCache",
    "TokenBucket",
    "TradingCalendar",
    "UnknownSymbolError",
    "chart_params",
    "chart_path",
    "make_quote",
    "nyse_calendar",
    "parse_chart",
    "parse_retry_after",
    "read_price_csv",
]
