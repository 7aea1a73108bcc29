"""Risk statistics of one daily return series.

Inputs are daily simple returns (fractions); outputs are fractions (0.2 = 20%) or ratios.
Annualization multiplies by ``sqrt(252)``. Losses (drawdown, VaR, CVaR) are positive fractions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._exceptions import InsufficientDataError
from .returns import TRADING_DAYS_PER_YEAR

__all__ = [
    "ANNUALIZATION",
    "annualized_volatility",
    "beta",
    "historical_cvar",
    "historical_var",
    "max_drawdown",
    "parametric_var",
    "sharpe_ratio",
    "sortino_ratio",
]

ANNUALIZATION = math.sqrt(TRADING_DAYS_PER_YEAR)
_Returns = pd.Series | np.ndarray | Sequence[float]


def _values(returns: _Returns, minimum: int = 2) -> np.ndarray:
    arr = np.asarray(returns, dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size < minimum:
        raise InsufficientDataError(f"need at least {minimum} daily returns, got {arr.size}")
    return arr


def annualized_volatility(returns: _Returns) -> float:
    """Sample standard deviation (ddof=1) of daily returns times sqrt(252)."""
    return float(np.std(_values(returns), ddof=1) * ANNUALIZATION)


def max_drawdown(returns: _Returns) -> float:
    """Largest peak-to-trough fall of ``V_t = prod(1 + r)``, with ``V_0 = 1`` before the first
    return counted as a peak; a positive fraction (0 when the value never falls)."""
    value = np.concatenate(([1.0], np.cumprod(1.0 + _values(returns, 1))))
    peak = np.maximum.accumulate(value)
    return float(np.max(1.0 - value / peak))


def historical_var(returns: _Returns, level: float = 0.95) -> float:
    """One-day historical VaR: minus the ``1 - level`` quantile of daily returns, numpy's default
    ``linear`` interpolation (Hyndman-Fan type 7)."""
    return float(-np.quantile(_values(returns, 1), 1.0 - level))


def historical_cvar(returns: _Returns, level: float = 0.95) -> float:
    """One-day historical CVaR (expected shortfall): minus the mean of the returns at or below the
    ``1 - level`` quantile used by :func:`historical_var`."""
    arr = _values(returns, 1)
    q = np.quantile(arr, 1.0 - level)
    return float(-np.mean(arr[arr <= q]))


def parametric_var(returns: _Returns, level: float = 0.95) -> float:
    """One-day normal VaR: ``-(mu + z sigma)`` with ``z = Phi^-1(1 - level)`` (-1.6449 at 95%),
    ``mu`` the mean and ``sigma`` the sample (ddof=1) standard deviation of daily returns."""
    arr = _values(returns)
    return float(-(np.mean(arr) + norm.ppf(1.0 - level) * np.std(arr, ddof=1)))


def _excess(returns: pd.Series, rf_daily: pd.Series | float) -> np.ndarray:
    if isinstance(rf_daily, pd.Series):
        rf = rf_daily.reindex(returns.index)
        if rf.isna().any():
            missing = rf.index[rf.isna()][0]
            raise InsufficientDataError(f"no risk-free rate for {pd.Timestamp(missing).date()}")
        return _values(returns.to_numpy(dtype=float) - rf.to_numpy(dtype=float))
    return _values(np.asarray(returns, dtype=float) - float(rf_daily))


def sharpe_ratio(returns: pd.Series, rf_daily: pd.Series | float) -> float:
    """``mean(excess) / std(excess, ddof=1) * sqrt(252)``; excess = daily return - daily rf."""
    ex = _excess(returns, rf_daily)
    sd = float(np.std(ex, ddof=1))
    return float(np.mean(ex) / sd * ANNUALIZATION) if sd > 0 else math.nan


def sortino_ratio(returns: pd.Series, rf_daily: pd.Series | float) -> float:
    """``mean(excess) / dd * sqrt(252)`` with downside deviation ``dd = sqrt(mean(min(excess, 0)^2))``
    over all days (target 0 excess return)."""
    ex = _excess(returns, rf_daily)
    dd = math.sqrt(float(np.mean(np.minimum(ex, 0.0) ** 2)))
    return float(np.mean(ex) / dd * ANNUALIZATION) if dd > 0 else math.nan


def beta(returns: pd.Series, benchmark_returns: pd.Series) -> float:
    """``cov(r, b) / var(b)`` (both ddof=1) over the dates both series have."""
    both = pd.concat([returns.rename("r"), benchmark_returns.rename("b")], axis=1, join="inner").dropna()
    if len(both) < 2:
        raise InsufficientDataError(f"need at least 2 common days with the benchmark, got {len(both)}")
    r, b = both["r"].to_numpy(dtype=float), both["b"].to_numpy(dtype=float)
    var_b = float(np.var(b, ddof=1))
    return float(np.cov(r, b, ddof=1)[0, 1] / var_b) if var_b > 0 else math.nan
