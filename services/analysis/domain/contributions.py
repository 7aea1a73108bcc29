"""Euler risk contributions: how much of the portfolio's volatility each holding (class) carries."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from ._exceptions import WeightsError

__all__ = ["contributions_by_class", "portfolio_volatility", "risk_contributions"]


def _aligned(weights: Mapping[str, float], covariance: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    unknown = [s for s in weights if s not in covariance.index]
    if unknown:
        raise WeightsError(f"no covariance for weighted symbol(s) {', '.join(unknown)}")
    w = pd.Series({s: float(v) for s, v in weights.items()}, dtype=float)
    sigma = covariance.loc[list(w.index), list(w.index)].to_numpy(dtype=float)
    return w, sigma


def portfolio_volatility(weights: Mapping[str, float], covariance: pd.DataFrame) -> float:
    """``sqrt(w' Σ w)`` in the units of ``covariance`` (annual when Σ is annualized)."""
    w, sigma = _aligned(weights, covariance)
    x = w.to_numpy()
    return math.sqrt(max(0.0, float(x @ sigma @ x)))


def risk_contributions(weights: Mapping[str, float], covariance: pd.DataFrame) -> pd.Series:
    """Each symbol's share of volatility, ``w_i (Σw)_i / σ_p^2`` (Euler contribution
    ``w_i (Σw)_i / σ_p`` divided by ``σ_p``): fractions that sum to 1 (all 0 when σ_p is 0)."""
    w, sigma = _aligned(weights, covariance)
    x = w.to_numpy()
    variance = float(x @ sigma @ x)
    if variance <= 0:
        return pd.Series(0.0, index=w.index)
    return pd.Series(x * (sigma @ x) / variance, index=w.index)


def contributions_by_class(
    weights: Mapping[str, float], covariance: pd.DataFrame, asset_class: Callable[[str], str]
) -> dict[str, float]:
    """:func:`risk_contributions` summed per asset class, classes sorted by name."""
    per_symbol = risk_contributions(weights, covariance)
    out: dict[str, float] = {}
    for symbol, share in per_symbol.items():
        key = asset_class(str(symbol))
        out[key] = out.get(key, 0.0) + float(share)
    return dict(sorted(out.items()))
