"""Daily returns, portfolio returns and the daily risk-free rate.

Units: returns are simple daily fractions (0.01 = +1%); the risk-free rate is a daily fraction.
"""

from __future__ import annotations

import math
from collections.abc import Container, Mapping
from typing import overload

import pandas as pd

from ._exceptions import InsufficientDataError, WeightsError

__all__ = [
    "TRADING_DAYS_PER_YEAR",
    "WEIGHT_TOLERANCE",
    "daily_returns",
    "portfolio_returns",
    "rf_daily_from_irx",
    "validate_weights",
]

TRADING_DAYS_PER_YEAR = 252
WEIGHT_TOLERANCE = 1e-6


@overload
def daily_returns(prices: pd.DataFrame) -> pd.DataFrame: ...
@overload
def daily_returns(prices: pd.Series) -> pd.Series: ...
def daily_returns(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """``r_t = close_t / close_{t-1} - 1`` of adjusted closes; the first row (no return) is dropped.

    Gaps (NaN prices) stay NaN; nothing is filled.
    """
    out = prices / prices.shift(1) - 1.0
    return out.iloc[1:]


def validate_weights(weights: Mapping[str, float], columns: pd.Index) -> pd.Series:
    """Weights as a float Series ordered like ``weights``; each symbol in ``columns``, each finite,
    summing to 1 within :data:`WEIGHT_TOLERANCE`."""
    check_weights(weights, columns)
    return pd.Series({s: float(w) for s, w in weights.items()}, dtype=float)


def check_weights(weights: Mapping[str, float], known: Container[str]) -> None:
    """:class:`WeightsError` unless ``weights`` is not empty, names only symbols in ``known``, each weight
    finite, summing to 1 within :data:`WEIGHT_TOLERANCE`."""
    if not weights:
        raise WeightsError("no weights given")
    unknown = [s for s in weights if s not in known]
    if unknown:
        raise WeightsError(f"no returns for weighted symbol(s) {', '.join(unknown)}")
    bad = [s for s, w in weights.items() if not math.isfinite(float(w))]
    if bad:
        raise WeightsError(f"weight of {', '.join(bad)} is not a finite number")
    total = math.fsum(float(w) for w in weights.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise WeightsError(f"weights sum to {total:.9g}, not 1 (tolerance {WEIGHT_TOLERANCE:g})")


def portfolio_returns(returns_panel: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Daily returns of fixed weights rebalanced daily, ``sum_i w_i r_i,t``, over the dates where
    every weighted symbol has a return (the common history)."""
    w = validate_weights(weights, returns_panel.columns)
    panel = returns_panel[list(w.index)].dropna(how="any")
    if panel.empty:
        raise InsufficientDataError("the weighted symbols have no common history")
    values = panel.to_numpy(dtype=float) @ w.to_numpy()
    return pd.Series(values, index=panel.index, name="portfolio")


def rf_daily_from_irx(irx_percent: pd.Series, dates: pd.Index) -> pd.Series:
    """Daily risk-free rate on ``dates``: the 13-week T-bill yield (IRX, annual percent) / 100 / 252,
    taken on the same date, or the last earlier value carried forward when that date has none."""
    irx = irx_percent.dropna().sort_index()
    if irx.empty or pd.Timestamp(dates.min()) < irx.index[0]:
        first = "none" if irx.empty else irx.index[0].date().isoformat()
        raise InsufficientDataError(f"no T-bill yield on or before {pd.Timestamp(dates.min()).date()} (first: {first})")
    aligned = irx.reindex(irx.index.union(dates)).ffill().reindex(dates)
    return (aligned / 100.0 / TRADING_DAYS_PER_YEAR).astype(float).rename("rf_daily")
