"""One account's risk on a snapshot's returns, in numpy: what a run's analysis step computes per account.

The snapshot's returns are turned into arrays once (:class:`ReturnsArrays`); an account then costs a row
mask, one matrix-vector product and a few reductions over its holdings' common history, with the same
definitions as :func:`risk_metrics`, :func:`ledoit_wolf_covariance` and :func:`contributions_by_class`
(the pandas forms, used by the queries; a test holds the two equal). Per account that is O(days x
holdings), with no DataFrame built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._exceptions import InsufficientDataError, WeightsError
from .metrics import ANNUALIZATION
from .returns import TRADING_DAYS_PER_YEAR, check_weights
from .risk_summary import RiskMetrics

__all__ = ["ReturnsArrays", "account_risk", "ledoit_wolf_arrays"]

_TAIL = 1.0 - 0.95
"""The tail of the 95% VaR, written as :mod:`metrics` computes it (``1 - level``)."""
_Z_TAIL = float(norm.ppf(_TAIL))
"""The standard normal's quantile at the tail (-1.6449): the parametric VaR's factor."""


@dataclass(frozen=True, slots=True)
class ReturnsArrays:
    """A snapshot's daily returns as arrays: ``values`` (days x symbols, ``NaN`` where a symbol has no
    return), ``dates``, each symbol's column, and the daily risk-free rate on every day (``NaN`` before
    the first T-bill yield)."""

    dates: pd.DatetimeIndex
    values: np.ndarray
    valid: np.ndarray
    column: dict[str, int]
    rf_daily: np.ndarray

    @classmethod
    def of(cls, returns: pd.DataFrame, irx_percent: pd.Series) -> ReturnsArrays:
        """``returns`` as :func:`daily_returns` gives them; ``irx_percent`` the 13-week T-bill yield
        (annual percent), carried forward to each day as :func:`rf_daily_from_irx` does."""
        values = returns.to_numpy(dtype=float, copy=True)
        dates = pd.DatetimeIndex(returns.index)
        irx = irx_percent.dropna().sort_index()
        aligned = irx.reindex(irx.index.union(dates)).ffill().reindex(dates)
        rf = (aligned / 100.0 / TRADING_DAYS_PER_YEAR).to_numpy(dtype=float)
        column = {str(symbol): i for i, symbol in enumerate(returns.columns)}
        return cls(dates=dates, values=values, valid=~np.isnan(values), column=column, rf_daily=rf)


def ledoit_wolf_arrays(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrunk covariance of the rows of ``x`` (days x symbols) and the shrinkage: the same
    arithmetic as ``sklearn.covariance.LedoitWolf().fit(x)`` (centred data, ``ddof=0`` sample covariance
    shrunk toward ``mu I``), without its validation; not annualized."""
    n, p = x.shape
    centred = x - x.mean(0)
    if p == 1:
        return np.atleast_2d((centred**2).mean()), 0.0
    squared = centred**2
    trace_terms = np.sum(squared, axis=0) / n
    mu = np.sum(trace_terms) / p
    beta_sum = np.sum(np.dot(squared.T, squared))
    gram = np.dot(centred.T, centred)
    delta_sum = np.sum(gram**2) / n**2
    beta = 1.0 / (p * n) * (beta_sum / n - delta_sum)
    delta = (delta_sum - 2.0 * mu * trace_terms.sum() + p * mu**2) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0 else float(beta / delta)
    empirical = gram / n
    shrunk = (1.0 - shrinkage) * empirical
    shrunk.flat[:: p + 1] += shrinkage * (np.sum(np.trace(empirical)) / p)
    return shrunk, shrinkage


def _checked_weights(weights: Mapping[str, float], arrays: ReturnsArrays) -> tuple[list[str], np.ndarray]:
    check_weights(weights, arrays.column)
    return list(weights), np.array([float(w) for w in weights.values()], dtype=float)


def account_risk(
    arrays: ReturnsArrays,
    weights: Mapping[str, float],
    benchmark: str,
    asset_class: Callable[[str], str],
) -> tuple[RiskMetrics, dict[str, float]]:
    """Risk figures of fixed ``weights`` (symbol -> fraction, summing to 1) over the days on which every
    weighted symbol and ``benchmark`` have a return, and each asset class's share of the variance under
    the Ledoit-Wolf covariance of the weighted symbols over those days (annualized)."""
    symbols, w = _checked_weights(weights, arrays)
    if benchmark not in arrays.column:
        raise WeightsError(f"no returns for the benchmark {benchmark}")
    held = [arrays.column[s] for s in symbols]
    rows: np.ndarray = np.asarray(arrays.valid[:, [*held, arrays.column[benchmark]]].all(axis=1))
    window = arrays.values[rows]
    if len(window) < 2:
        raise InsufficientDataError(f"need at least 2 common days of returns, got {len(window)}")
    panel = window[:, held]
    port = panel @ w
    bench = window[:, arrays.column[benchmark]]
    rf = arrays.rf_daily[rows]
    days = arrays.dates[rows]
    if np.isnan(rf).any():
        missing = days[np.isnan(rf)][0]
        raise InsufficientDataError(f"no T-bill yield on or before {pd.Timestamp(missing).date()}")
    metrics = _metrics(port, rf, bench, days)
    covariance, _ = ledoit_wolf_arrays(panel)
    return metrics, _by_class(symbols, w, covariance * TRADING_DAYS_PER_YEAR, asset_class)


def _metrics(port: np.ndarray, rf: np.ndarray, bench: np.ndarray, days: pd.DatetimeIndex) -> RiskMetrics:
    value = np.concatenate(([1.0], np.cumprod(1.0 + port)))
    quantile = np.quantile(port, _TAIL)
    excess = port - rf
    sd_excess = float(np.std(excess, ddof=1))
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    mean_excess = float(np.mean(excess))
    var_b = float(np.var(bench, ddof=1))
    return RiskMetrics(
        volatility=float(np.std(port, ddof=1) * ANNUALIZATION),
        max_drawdown=float(np.max(1.0 - value / np.maximum.accumulate(value))),
        var_95=float(-quantile),
        cvar_95=float(-np.mean(port[port <= quantile])),
        parametric_var_95=float(-(np.mean(port) + _Z_TAIL * np.std(port, ddof=1))),
        sharpe=mean_excess / sd_excess * ANNUALIZATION if sd_excess > 0 else math.nan,
        sortino=mean_excess / downside * ANNUALIZATION if downside > 0 else math.nan,
        beta=float(np.cov(port, bench, ddof=1)[0, 1] / var_b) if var_b > 0 else math.nan,
        start=pd.Timestamp(days[0]).date(),
        end=pd.Timestamp(days[-1]).date(),
        observations=len(port),
    )


def _by_class(
    symbols: Sequence[str], w: np.ndarray, covariance: np.ndarray, asset_class: Callable[[str], str]
) -> dict[str, float]:
    variance = float(w @ covariance @ w)
    shares = np.zeros(len(symbols)) if variance <= 0 else w * (covariance @ w) / variance
    out: dict[str, float] = {}
    for symbol, share in zip(symbols, shares, strict=True):
        key = asset_class(symbol)
        out[key] = out.get(key, 0.0) + float(share)
    return dict(sorted(out.items()))
