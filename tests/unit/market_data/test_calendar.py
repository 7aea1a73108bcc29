"""NYSE sessions from exchange_calendars, checked against holidays and the shipped SPY dates."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from services.market_data.domain import CalendarError, nyse_calendar

CAL = nyse_calendar()
D = dt.date


@pytest.mark.parametrize(
    "holiday",
    [
        D(2025, 7, 4),  # Independence Day
        D(2025, 4, 18),  # Good Friday
        D(2025, 1, 9),  # national day of mourning, President Carter
        D(2012, 10, 29),  # Hurricane Sandy
        D(2012, 10, 30),
        D(2007, 1, 2),  # President Ford
        D(2025, 7, 5),  # a Saturday
    ],
)
def test_closed_days(holiday: dt.date) -> None:
    assert not CAL.is_trading_day(holiday)


def test_sessions_around_independence_day() -> None:
    assert CAL.trading_days(D(2025, 7, 1), D(2025, 7, 8)) == [
        D(2025, 7, 1),
        D(2025, 7, 2),
        D(2025, 7, 3),
        D(2025, 7, 7),
        D(2025, 7, 8),
    ]
    assert CAL.previous_trading_day(D(2025, 7, 7)) == D(2025, 7, 3)
    assert CAL.previous_trading_day(D(2025, 7, 4)) == D(2025, 7, 3)
    assert CAL.next_trading_day(D(2025, 7, 3)) == D(2025, 7, 7)
    assert CAL.session_at_or_before(D(2025, 7, 6)) == D(2025, 7, 3)
    assert CAL.sessions_back(D(2025, 7, 8), 2) == D(2025, 7, 3)


def test_trading_days_between_counts_sessions_after_the_first_date() -> None:
    assert CAL.trading_days_between(D(2025, 7, 3), D(2025, 7, 3)) == 0
    assert CAL.trading_days_between(D(2025, 7, 3), D(2025, 7, 7)) == 1  # across the holiday weekend
    assert CAL.trading_days_between(D(2025, 7, 3), D(2025, 7, 6)) == 0
    assert CAL.trading_days_between(D(2025, 7, 7), D(2025, 7, 3)) == -1
    assert CAL.trading_days_between(D(2026, 5, 1), D(2026, 5, 8)) == 5
    assert CAL.trading_days(D(2025, 7, 8), D(2025, 7, 1)) == []


def test_calendar_equals_the_shipped_spy_dates() -> None:
    path = Path(__file__).resolve().parents[3] / "shared/data/market/prices/SPY.csv"
    with path.open(newline="") as fh:
        dates = [dt.date.fromisoformat(row["date"]) for row in csv.DictReader(fh)]
    assert CAL.trading_days(dates[0], dates[-1]) == dates


def test_dates_outside_the_calendar() -> None:
    with pytest.raises(CalendarError, match=r"1989-12-29 is outside the XNYS calendar"):
        CAL.is_trading_day(D(1989, 12, 29))
    with pytest.raises(CalendarError, match="2028-01-03"):
        CAL.trading_days(D(2027, 12, 1), D(2028, 1, 3))
