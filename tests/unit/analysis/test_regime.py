"""Market regime on fixed dates of the shipped VIX and VTI history."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics

import pandas as pd
import pytest

from services.analysis.domain import (
    RECOMMENDATION_BEARISH,
    RECOMMENDATION_FAVOURABLE,
    RECOMMENDATION_HIGH_VOL,
    InsufficientDataError,
    RegimeDateError,
    market_regime,
)

from . import reference as ref

_VIX = ref.index_closes("VIX")
_VTI = ref.price_closes("VTI")
VIX = pd.Series(list(_VIX.values()), index=pd.DatetimeIndex(list(_VIX)))
VTI = pd.Series(list(_VTI.values()), index=pd.DatetimeIndex(list(_VTI)))


def test_covid_crash_is_poor_timing() -> None:
    r = market_regime(VIX, VTI, dt.date(2020, 3, 16))
    assert r.volatility_index == 82.69
    assert r.market_timing == "poor"
    assert r.sentiment == "bearish"
    assert r.risk_recommendation == RECOMMENDATION_HIGH_VOL
    assert r.vix_percentile == 100.0  # the record close
    assert r.trend < -0.15


def test_record_low_vix_is_good_timing() -> None:
    r = market_regime(VIX, VTI, dt.date(2017, 11, 3))
    assert r.volatility_index == 9.14
    assert r.market_timing == "good"
    assert r.sentiment == "bullish"
    assert r.risk_recommendation == RECOMMENDATION_FAVOURABLE
    # 9.14 is the lowest close of the trailing five years: only itself is <= it
    assert r.vix_percentile == pytest.approx(100 / 1260)


def test_bearish_below_vix_30_recommends_dca() -> None:
    r = market_regime(VIX, VTI, dt.date(2022, 9, 1))
    assert r.volatility_index == 25.56
    assert r.market_timing == "neutral"
    assert r.sentiment == "bearish"
    assert r.risk_recommendation == RECOMMENDATION_BEARISH


def test_stress_without_downtrend_is_neutral() -> None:
    r = market_regime(VIX, VTI, dt.date(2022, 4, 1))
    assert 0 < r.trend < 0.02 and r.realized_vol_percentile >= 80
    assert (r.sentiment, r.market_timing) == ("neutral", "good")


def test_numbers_match_a_plain_recomputation() -> None:
    day = dt.date(2022, 9, 1)
    r = market_regime(VIX, VTI, day)
    vix_days = [d for d in sorted(_VIX) if d <= day][-1260:]
    level = _VIX[vix_days[-1]]
    assert r.vix_percentile == pytest.approx(100 * sum(_VIX[d] <= level for d in vix_days) / 1260)
    px_days = [d for d in sorted(_VTI) if d <= day]
    px = [_VTI[d] for d in px_days]
    rets = [b / a - 1 for a, b in itertools.pairwise(px)]
    vols = [statistics.stdev(rets[i - 21 : i]) * math.sqrt(252) for i in range(len(rets) - 1259, len(rets) + 1)]
    assert r.realized_volatility == pytest.approx(vols[-1], rel=1e-9)
    assert r.realized_vol_percentile == pytest.approx(100 * sum(v <= vols[-1] for v in vols) / 1260)
    assert r.trend == pytest.approx(px[-1] / statistics.fmean(px[-200:]) - 1, rel=1e-9)


def test_weekend_uses_friday_and_is_deterministic() -> None:
    sat = market_regime(VIX, VTI, dt.date(2020, 3, 14))
    fri = market_regime(VIX, VTI, dt.date(2020, 3, 13))
    assert sat.data_date == dt.date(2020, 3, 13)
    assert sat.to_json_dict() | {"as_of": None} == fri.to_json_dict() | {"as_of": None}
    assert market_regime(VIX, VTI, dt.date(2020, 3, 14)) == sat


def test_dates_outside_history_are_clear_errors() -> None:
    with pytest.raises(RegimeDateError, match=r"2026-08-03 .*VIX history 1990-01-02 .. 2026-07-31"):
        market_regime(VIX, VTI, dt.date(2026, 8, 3))
    with pytest.raises(RegimeDateError, match="1989-12-29"):
        market_regime(VIX, VTI, dt.date(1989, 12, 29))
    # VIX runs to 2026-07-31, the ETF proxy only to 2026-05-01
    with pytest.raises(RegimeDateError, match=r"proxy has no price on 2026-06-15"):
        market_regime(VIX, VTI, dt.date(2026, 6, 15))
    with pytest.raises(InsufficientDataError, match="200"):
        market_regime(VIX, VTI, dt.date(2005, 6, 1))


def test_json_dict() -> None:
    d = market_regime(VIX, VTI, dt.date(2017, 11, 3)).to_json_dict()
    assert d["as_of"] == "2017-11-03" and d["market_timing"] == "good"
    assert "VIX 9.14" in d["rationale"]
