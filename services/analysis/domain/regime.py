"""The market regime on a date, from the VIX and a broad-market proxy (VTI by default).

Definitions (all on data dated at or before the *data date*, the latest VIX date <= ``as_of``):

- ``volatility_index``: the VIX close on the data date.
- ``vix_percentile``: percent of the trailing ``PERCENTILE_WINDOW`` (1260 = 252*5, about five
  years) VIX closes, the data date included, that are <= today's close (0..100, "weak" rank).
- ``realized_volatility``: sample std (ddof=1) of the proxy's last ``REALIZED_VOL_DAYS`` (21) daily
  total returns times sqrt(252); ``realized_vol_percentile``: its weak percentile rank among the
  trailing 1260 values of that rolling series.
- ``trend``: proxy adjusted close / its ``TREND_DAYS`` (200) day simple moving average - 1.
- ``sentiment``: *stress* means either percentile >= ``STRESS_PERCENTILE`` (80).
  bullish when ``trend > +TREND_BAND`` (2%) and no stress; bearish when ``trend < -TREND_BAND``,
  or when ``trend < 0`` under stress; neutral otherwise.
- ``market_timing``: poor when VIX > 30, good when VIX < 20, neutral otherwise.
- ``risk_recommendation``: the original workflow's text (VIX > 30, then bearish, else favourable);
  ``rationale`` repeats the numbers behind it.

A percentile needs at least ``MIN_PERCENTILE_OBS`` (252) values in its window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._exceptions import InsufficientDataError, RegimeDateError
from .metrics import ANNUALIZATION

__all__ = [
    "MIN_PERCENTILE_OBS",
    "PERCENTILE_WINDOW",
    "REALIZED_VOL_DAYS",
    "RECOMMENDATION_BEARISH",
    "RECOMMENDATION_FAVOURABLE",
    "RECOMMENDATION_HIGH_VOL",
    "STRESS_PERCENTILE",
    "TREND_BAND",
    "TREND_DAYS",
    "MarketRegime",
    "market_regime",
]

PERCENTILE_WINDOW = 252 * 5
MIN_PERCENTILE_OBS = 252
REALIZED_VOL_DAYS = 21
TREND_DAYS = 200
TREND_BAND = 0.02
STRESS_PERCENTILE = 80.0
VIX_POOR_ABOVE = 30.0
VIX_GOOD_BELOW = 20.0
RECOMMENDATION_HIGH_VOL = "High volatility detected. Consider defensive positioning or delayed rebalancing."
RECOMMENDATION_BEARISH = "Bearish sentiment. Consider dollar-cost averaging into positions."
RECOMMENDATION_FAVOURABLE = "Market conditions favorable for rebalancing."

Sentiment = Literal["bullish", "bearish", "neutral"]
Timing = Literal["good", "poor", "neutral"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketRegime:
    as_of: dt.date
    data_date: dt.date
    sentiment: Sentiment
    volatility_index: float
    vix_percentile: float
    realized_volatility: float
    realized_vol_percentile: float
    trend: float
    market_timing: Timing
    risk_recommendation: str
    rationale: str

    def to_json_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        out["data_date"] = self.data_date.isoformat()
        return out


def _percentile_rank(window: np.ndarray, value: float) -> float:
    return 100.0 * float(np.count_nonzero(window <= value)) / window.size


def _trailing(series: pd.Series, what: str, as_of: dt.date) -> np.ndarray:
    values = series.dropna().to_numpy(dtype=float)[-PERCENTILE_WINDOW:]
    if values.size < MIN_PERCENTILE_OBS:
        raise InsufficientDataError(
            f"{what} percentile on {as_of.isoformat()} needs {MIN_PERCENTILE_OBS} values, has {values.size}"
        )
    return values


def _sentiment(trend: float, vix_pct: float, rv_pct: float) -> Sentiment:
    stress = vix_pct >= STRESS_PERCENTILE or rv_pct >= STRESS_PERCENTILE
    if trend > TREND_BAND and not stress:
        return "bullish"
    if trend < -TREND_BAND or (trend < 0 and stress):
        return "bearish"
    return "neutral"


def _timing(vix: float) -> Timing:
    if vix > VIX_POOR_ABOVE:
        return "poor"
    return "good" if vix < VIX_GOOD_BELOW else "neutral"


def market_regime(vix_series: pd.Series, proxy_adj_close_series: pd.Series, as_of: dt.date) -> MarketRegime:
    """The regime on ``as_of`` (see the module docstring); same inputs, same answer.

    ``vix_series``: VIX closes by date; ``proxy_adj_close_series``: adjusted closes by date.
    ``RegimeDateError`` when ``as_of`` is after the last VIX date, before the first, or past the
    proxy's data; ``InsufficientDataError`` when a window is too short.
    """
    vix = vix_series.dropna().sort_index()
    proxy = proxy_adj_close_series.dropna().sort_index()
    if vix.empty or proxy.empty:
        raise InsufficientDataError("market regime needs VIX and proxy history")
    first, last = vix.index[0].date(), vix.index[-1].date()
    if not first <= as_of <= last:
        raise RegimeDateError(f"{as_of.isoformat()} is outside the VIX history {first} .. {last}")
    vix = vix.loc[: pd.Timestamp(as_of)]
    data_ts = vix.index[-1]
    data_date = data_ts.date()
    if proxy.index[-1] < data_ts or proxy.index[0] > data_ts:
        raise RegimeDateError(
            f"the market proxy has no price on {data_date} (its data: "
            f"{proxy.index[0].date()} .. {proxy.index[-1].date()})"
        )
    proxy = proxy.loc[:data_ts]
    if len(proxy) < TREND_DAYS:
        raise InsufficientDataError(f"trend on {data_date} needs {TREND_DAYS} proxy prices, has {len(proxy)}")
    level = float(vix.iloc[-1])
    vix_pct = _percentile_rank(_trailing(vix, "VIX", data_date), level)
    returns = proxy / proxy.shift(1) - 1.0
    rolling_vol = returns.rolling(REALIZED_VOL_DAYS).std(ddof=1) * ANNUALIZATION
    rv_window = _trailing(rolling_vol, "realized volatility", data_date)
    realized = float(rv_window[-1])
    rv_pct = _percentile_rank(rv_window, realized)
    trend = float(proxy.iloc[-1] / proxy.iloc[-TREND_DAYS:].mean() - 1.0)
    sentiment = _sentiment(trend, vix_pct, rv_pct)
    timing = _timing(level)
    if level > VIX_POOR_ABOVE:
        text = RECOMMENDATION_HIGH_VOL
    elif sentiment == "bearish":
        text = RECOMMENDATION_BEARISH
    else:
        text = RECOMMENDATION_FAVOURABLE
    rationale = (
        f"VIX {level:.2f} (percentile {vix_pct:.0f} over 5 years); realized volatility "
        f"{realized:.1%} (percentile {rv_pct:.0f}); market {trend:+.1%} vs its 200-day average."
    )
    return MarketRegime(
        as_of=as_of,
        data_date=data_date,
        sentiment=sentiment,
        volatility_index=level,
        vix_percentile=vix_pct,
        realized_volatility=realized,
        realized_vol_percentile=rv_pct,
        trend=trend,
        market_timing=timing,
        risk_recommendation=text,
        rationale=rationale,
    )
