"""NYSE trading days, from the ``exchange_calendars`` library (calendar ``"XNYS"``).

Dates are :class:`datetime.date`. The calendar spans 1990-01-02 .. 2027-12-31 (all shipped data);
a date outside it raises :class:`CalendarError`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import cache

import exchange_calendars as xcals
import pandas as pd

from ._exceptions import CalendarError

__all__ = ["CALENDAR_END", "CALENDAR_START", "TradingCalendar", "nyse_calendar"]

CALENDAR_START = dt.date(1990, 1, 2)
CALENDAR_END = dt.date(2027, 12, 31)


class TradingCalendar:
    """Sessions of one exchange between ``start`` and ``end`` (inclusive)."""

    def __init__(self, code: str = "XNYS", start: dt.date = CALENDAR_START, end: dt.date = CALENDAR_END):
        self.code = code
        self.start = start
        self.end = end
        with warnings.catch_warnings():
            # exchange_calendars 4.13 trips a pandas 3 deprecation (Series.values on tz-aware data)
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            cal = xcals.get_calendar(code, start=start.isoformat(), end=end.isoformat())
        self._sessions: pd.DatetimeIndex = pd.DatetimeIndex(cal.sessions).tz_localize(None).normalize()

    def _check(self, day: dt.date) -> pd.Timestamp:
        if not self.start <= day <= self.end:
            raise CalendarError(
                f"{day.isoformat()} is outside the {self.code} calendar "
                f"{self.start.isoformat()} .. {self.end.isoformat()}"
            )
        return pd.Timestamp(day)

    def is_trading_day(self, day: dt.date) -> bool:
        ts = self._check(day)
        pos = int(self._sessions.searchsorted(ts))
        return pos < len(self._sessions) and self._sessions[pos] == ts

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Sessions in ``[start, end]``, ascending (empty when ``start > end``)."""
        lo, hi = self._check(start), self._check(end)
        i = int(self._sessions.searchsorted(lo, side="left"))
        j = int(self._sessions.searchsorted(hi, side="right"))
        return [ts.date() for ts in self._sessions[i:j]]

    def previous_trading_day(self, day: dt.date) -> dt.date:
        """The last session strictly before ``day``."""
        pos = int(self._sessions.searchsorted(self._check(day), side="left"))
        if pos == 0:
            raise CalendarError(f"no {self.code} session before {day.isoformat()}")
        return self._sessions[pos - 1].date()

    def next_trading_day(self, day: dt.date) -> dt.date:
        """The first session strictly after ``day``."""
        pos = int(self._sessions.searchsorted(self._check(day), side="right"))
        if pos >= len(self._sessions):
            raise CalendarError(f"no {self.code} session after {day.isoformat()}")
        return self._sessions[pos].date()

    def session_at_or_before(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a session, else the previous session."""
        return day if self.is_trading_day(day) else self.previous_trading_day(day)

    def sessions_back(self, day: dt.date, count: int) -> dt.date:
        """The session ``count`` sessions before the session at or before ``day``."""
        pos = int(self._sessions.searchsorted(self._check(day), side="right")) - 1 - count
        if pos < 0:
            raise CalendarError(f"fewer than {count} {self.code} sessions before {day.isoformat()}")
        return self._sessions[pos].date()

    def trading_days_between(self, earlier: dt.date, later: dt.date) -> int:
        """Number of sessions in ``(earlier, later]``: 0 for the same day, 1 from Friday to Monday.

        Negative when ``later`` is before ``earlier``.
        """
        if later < earlier:
            return -self.trading_days_between(later, earlier)
        lo = int(self._sessions.searchsorted(self._check(earlier), side="right"))
        hi = int(self._sessions.searchsorted(self._check(later), side="right"))
        return hi - lo


@cache
def nyse_calendar() -> TradingCalendar:
    """The shared NYSE calendar (built once per process)."""
    return TradingCalendar("XNYS")
