"""The file provider over ``shared/data/market``."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from services.market_data.domain import (
    DateOutOfRangeError,
    FileMarketDataProvider,
    InvalidWindowError,
    MarketDataError,
    MarketDataProvider,
    UnknownSymbolError,
)

D = dt.date
MARKET = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"


@pytest.fixture(scope="module")
def provider() -> FileMarketDataProvider:
    return FileMarketDataProvider()


def _rows(symbol: str) -> dict[dt.date, dict[str, str]]:
    with (MARKET / "prices" / f"{symbol}.csv").open(newline="") as fh:
        return {dt.date.fromisoformat(r["date"]): r for r in csv.DictReader(fh)}


def test_is_a_provider(provider: FileMarketDataProvider) -> None:
    assert isinstance(provider, MarketDataProvider)


def test_quote_uses_the_actual_close(provider: FileMarketDataProvider) -> None:
    q = provider.quote("SPY", D(2026, 5, 1))
    assert (q.date, q.close, q.previous_date, q.previous_close) == (
        D(2026, 5, 1),
        Decimal("720.65"),
        D(2026, 4, 30),
        Decimal("718.66"),
    )
    assert q.change == Decimal("1.99")
    assert q.change_percent == Decimal("0.2769")  # 199 / 718.66 = 0.27690...%
    assert q.adjusted_close == Decimal("720.650024")
    assert (q.age_trading_days, q.stale) == (0, False)
    assert q.to_json_dict()["close"] == "720.65"


def test_historic_quotes_match_the_csv(provider: FileMarketDataProvider) -> None:
    rows = _rows("SPY")
    for day, prev in [(D(2009, 3, 9), D(2009, 3, 6)), (D(2020, 3, 23), D(2020, 3, 20))]:
        q = provider.quote("spy", day)
        assert q.symbol == "SPY"
        assert q.close == Decimal(rows[day]["close_unadj"])
        assert q.previous_close == Decimal(rows[prev]["close_unadj"])
        assert q.change == Decimal(rows[day]["close_unadj"]) - Decimal(rows[prev]["close_unadj"])
    assert provider.quote("SPY", D(2009, 3, 9)).close == Decimal("68.11")


def test_weekend_and_holiday_use_the_previous_session(provider: FileMarketDataProvider) -> None:
    q = provider.quote("VTI", D(2025, 7, 4))
    assert q.date == D(2025, 7, 3) and q.age_trading_days == 0 and not q.stale
    q = provider.quote("VTI", D(2025, 7, 6))
    assert q.date == D(2025, 7, 3) and not q.stale


def test_stale_quotes_are_flagged(provider: FileMarketDataProvider) -> None:
    q = provider.quote("SPY", D(2026, 5, 8))  # data end 2026-05-01; five sessions later
    assert (q.date, q.age_trading_days, q.stale) == (D(2026, 5, 1), 5, True)
    # SGOV ends 2026-04-30: one session old on 2026-05-01 is within the default tolerance of 1
    q = provider.quote("SGOV", D(2026, 5, 1))
    assert (q.date, q.age_trading_days, q.stale) == (D(2026, 4, 30), 1, False)
    strict = FileMarketDataProvider(stale_after_trading_days=0)
    assert strict.quote("SGOV", D(2026, 5, 1)).stale


def test_quotes_many(provider: FileMarketDataProvider) -> None:
    qs = provider.quotes(["VTI", "BND"], D(2024, 1, 2))
    assert list(qs) == ["VTI", "BND"]
    assert qs["BND"].close == Decimal(_rows("BND")[D(2024, 1, 2)]["close_unadj"])


def test_unknown_symbol_and_dates_before_the_data(provider: FileMarketDataProvider) -> None:
    with pytest.raises(UnknownSymbolError, match="'NOPE'") as info:
        provider.quote("NOPE", D(2024, 1, 2))
    assert info.value.symbol == "NOPE"
    with pytest.raises(UnknownSymbolError):
        provider.quote("../securities", D(2024, 1, 2))
    with pytest.raises(DateOutOfRangeError, match=r"BND: quote as of 2007-01-03 .* 2007-04-11 .. 2026-05-01"):
        provider.quote("BND", D(2007, 1, 3))


def test_history_matches_the_csv(provider: FileMarketDataProvider) -> None:
    panel = provider.history(["VTI", "BND"], D(2020, 1, 1), D(2020, 12, 31))
    vti, bnd = _rows("VTI"), _rows("BND")
    days = [d for d in vti if D(2020, 1, 1) <= d <= D(2020, 12, 31)]
    assert [ts.date() for ts in panel.index] == days
    assert list(panel.columns) == ["VTI", "BND"]
    for day in days:
        assert panel.loc[day.isoformat(), "VTI"] == float(vti[day]["close"])
        assert panel.loc[day.isoformat(), "BND"] == float(bnd[day]["close"])


def test_history_errors(provider: FileMarketDataProvider) -> None:
    with pytest.raises(DateOutOfRangeError, match=r"BND: window 2006-01-01 .. 2020-01-01 .* 2007-04-10"):
        provider.history(["VTI", "BND"], D(2006, 1, 1), D(2020, 1, 1))
    with pytest.raises(DateOutOfRangeError, match="2026-05-04"):
        provider.history(["VTI"], D(2026, 1, 2), D(2026, 5, 4))
    with pytest.raises(InvalidWindowError, match="after its end"):
        provider.history(["VTI"], D(2021, 1, 2), D(2020, 1, 2))
    with pytest.raises(MarketDataError):
        provider.history(["ZZZZ"], D(2021, 1, 2), D(2022, 1, 2))


def test_index_history(provider: FileMarketDataProvider) -> None:
    vix = provider.index_history("VIX", D(2020, 3, 16), D(2020, 3, 16))
    assert vix.iloc[0] == 82.69
    irx = provider.index_history("^IRX", D(2020, 3, 1), D(2020, 3, 31))
    assert (irx < 0).any()  # negative T-bill yields in March 2020
    assert provider.index_date_range("VIX") == (D(1990, 1, 2), D(2026, 7, 31))
    with pytest.raises(UnknownSymbolError, match="known indices"):
        provider.index_history("DJI", D(2020, 1, 2), D(2020, 1, 3))
    with pytest.raises(DateOutOfRangeError, match="VIX"):
        provider.index_history("VIX", D(2026, 7, 1), D(2026, 8, 3))


def test_last_date_and_lazy_cache() -> None:
    fresh = FileMarketDataProvider()
    assert fresh.last_date() == D(2026, 5, 1)
    assert fresh._prices == {}  # nothing parsed yet
    fresh.quote("VTI", D(2024, 1, 2))
    loaded = fresh._prices["VTI"]
    fresh.history(["VTI"], D(2024, 1, 2), D(2024, 1, 31))
    assert fresh._prices["VTI"] is loaded and list(fresh._prices) == ["VTI"]
    assert len(fresh.symbols()) == 70
