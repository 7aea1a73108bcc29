"""The one look-back rule of every market window.

    A window ends on the last trading day with data on or before the date asked, and counts its
    look-back in trading days (sessions with data), never in calendar days. When that day is not the
    date asked (a weekend, a holiday, a date past the data), the answer says which day it used.

A run's risk (``analyze-market-conditions``), ``GET /api/portfolio/{id}/risk``, ``GET /api/market/analysis``
and ``rebalance plan --as-of`` all follow it: the market data service cuts every history asked with
``sessions`` to the last ``sessions`` + 1 trading days (``sessions`` daily returns) ending there
(:func:`last_sessions`, fetched from :func:`fetch_start`), and :func:`window_notice` is the sentence an
answer carries when the day used is not the day asked. Risk looks back :data:`RISK_LOOKBACK_SESSIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Final, TypeVar

__all__ = ["RISK_LOOKBACK_SESSIONS", "fetch_start", "last_sessions", "window_notice"]

RISK_LOOKBACK_SESSIONS: Final = 756
"""Daily returns in a risk window: three years of trading days (252 a year)."""

_CALENDAR_DAYS_PER_SESSION: Final = 1.5  # NYSE: about 252 sessions in 365 days (1.45), with room for closures
_MARGIN_DAYS: Final = 10

T = TypeVar("T")


def fetch_start(end: date, sessions: int) -> date:
    """A first calendar day early enough that ``[start, end]`` holds ``sessions`` + 1 trading days."""
    return end - timedelta(days=math.ceil((sessions + 1) * _CALENDAR_DAYS_PER_SESSION) + _MARGIN_DAYS)


def last_sessions(days: Sequence[T], sessions: int) -> Sequence[T]:
    """The last ``sessions`` + 1 of ``days`` (ascending trading days with data): ``sessions`` returns."""
    if sessions < 1:
        raise ValueError(f"a window needs at least one session, got {sessions}")
    return days[-(sessions + 1) :]


def window_notice(asked: date | None, used: date | None) -> str | None:
    """What an answer says when its window ends on ``used`` rather than on the day ``asked``."""
    if asked is None or used is None or used >= asked:
        return None
    return (
        f"no market data on {asked.isoformat()}: figures are as of {used.isoformat()}, "
        "the last trading day with data before it"
    )
