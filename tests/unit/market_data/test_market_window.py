"""The one look-back rule (shared.market_window): windows count trading days ending on the last day with
data on or before the date asked, and an answer names the day it used when it is not the day asked."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from contracts.queries import HistoryQuery
from services.market_data.domain import FileMarketDataProvider
from services.market_data.handlers import MarketDataService
from shared.bus.runtime import ServiceRuntime
from shared.market_window import RISK_LOOKBACK_SESSIONS, fetch_start, last_sessions, window_notice
from shared.settings import Settings

LAST = date(2026, 5, 1)  # the shipped ETF data ends here (VIX and IRX go on to 2026-07-31)


def _service() -> MarketDataService:
    return MarketDataService(ServiceRuntime("market_data", Settings()), FileMarketDataProvider())


def test_a_window_is_counted_in_trading_days_ending_on_the_date_asked() -> None:
    reply = _service().history(HistoryQuery(symbols=["VTI", "BND"], indices=["IRX"], sessions=756), LAST)
    assert len(reply.dates) == RISK_LOOKBACK_SESSIONS + 1  # 756 daily returns
    assert reply.dates[-1] == LAST
    # three calendar years hold fewer trading days: the window reaches back past 2023-05-01
    assert reply.dates[0] < date(2023, 5, 1)
    assert len(reply.closes["VTI"]) == len(reply.indices["IRX"]) == len(reply.dates)


def test_a_date_past_the_data_ends_the_window_on_the_last_day_with_the_same_length() -> None:
    service = _service()
    on_last = service.history(HistoryQuery(symbols=["VTI"], indices=["VIX"], sessions=1500), LAST)
    past = service.history(HistoryQuery(symbols=["VTI"], indices=["VIX"], sessions=1500), date(2030, 1, 1))
    assert past == on_last  # not the requested date's calendar window, cut short
    # an index alone past the securities' data does not make a trading day
    each = service.history(
        HistoryQuery(symbols=["VTI"], indices=["IRX"], sessions=20, common_window=False), date(2026, 7, 31)
    )
    assert each.dates[-1] == LAST and len(each.dates) == 21


def test_a_weekend_ends_the_window_on_the_friday_before() -> None:
    reply = _service().history(HistoryQuery(symbols=["VTI"], sessions=5), date(2026, 5, 3))
    assert reply.dates[-1] == LAST and len(reply.dates) == 6


@given(st.integers(1, 3000), st.dates(date(2000, 1, 1), date(2030, 1, 1)))
def test_the_fetch_reaches_far_enough(sessions: int, end: date) -> None:
    # at most 252 trading days in any 365 calendar days, so this many days always hold them
    assert (end - fetch_start(end, sessions)).days >= (sessions + 1) * 365 / 252


def test_last_sessions_and_the_notice() -> None:
    assert last_sessions(list(range(10)), 3) == [6, 7, 8, 9]
    assert window_notice(LAST, LAST) is None and window_notice(None, LAST) is None
    notice = window_notice(date(2030, 1, 1), LAST)
    assert notice == (
        "no market data on 2030-01-01: figures are as of 2026-05-01, the last trading day with data before it"
    )
