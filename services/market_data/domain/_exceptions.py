"""Errors of the market data domain: the ``MarketDataError`` branch of the one error tree, drawn in
:mod:`shared.errors`."""

from __future__ import annotations

import datetime as dt

from shared.errors import InvalidInputError, NotFoundError, RebalancerError, TransientError

__all__ = [
    "CalendarError",
    "DateOutOfRangeError",
    "InvalidWindowError",
    "MarketDataError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "UnknownSymbolError",
]


class MarketDataError(RebalancerError):
    """Base class of every market data error."""


class UnknownSymbolError(MarketDataError, NotFoundError, KeyError):
    """The provider holds no prices for ``symbol``."""

    def __init__(self, symbol: str, detail: str = "") -> None:
        super().__init__(symbol)
        self.symbol = symbol
        self.detail = detail

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"unknown symbol {self.symbol!r}: no price history{extra}"


class DateOutOfRangeError(MarketDataError, InvalidInputError, ValueError):
    """``requested`` (a date or a window) is outside ``[first, last]`` of ``subject``'s data."""

    def __init__(self, subject: str, requested: str, first: dt.date, last: dt.date) -> None:
        super().__init__(subject, requested, first, last)
        self.subject = subject
        self.requested = requested
        self.first = first
        self.last = last

    def __str__(self) -> str:
        return (
            f"{self.subject}: {self.requested} is outside the available data "
            f"{self.first.isoformat()} .. {self.last.isoformat()}"
        )


class InvalidWindowError(MarketDataError, InvalidInputError, ValueError):
    """A history window whose ``start`` is after its ``end``."""

    def __init__(self, start: dt.date, end: dt.date) -> None:
        super().__init__(start, end)
        self.start = start
        self.end = end

    def __str__(self) -> str:
        return f"window start {self.start.isoformat()} is after its end {self.end.isoformat()}"


class CalendarError(MarketDataError, InvalidInputError, ValueError):
    """A date outside the span of the trading calendar."""


class ProviderError(MarketDataError):
    """A remote provider answered with an error or an unreadable payload."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.retryable = type(self).retryable or (status is not None and status >= 500)


class ProviderTimeoutError(ProviderError, TransientError):
    """Every attempt timed out (or could not connect)."""


class RateLimitedError(ProviderError, TransientError):
    """The provider answered 429 on every attempt."""
