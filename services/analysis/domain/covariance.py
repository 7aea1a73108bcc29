"""Correlation and covariance of daily returns (annualized covariance for the optimizer)."""

from __future__ import annotations

import pandas as pd
from sklearn.covariance import LedoitWolf

from ._exceptions import InsufficientDataError
from .returns import TRADING_DAYS_PER_YEAR

__all__ = ["correlation_matrix", "ledoit_wolf_covariance", "sample_covariance"]


def _common(returns_panel: pd.DataFrame) -> pd.DataFrame:
    panel = returns_panel.dropna(how="any")
    if len(panel) < 2:
        raise InsufficientDataError(f"need at least 2 common days of returns, got {len(panel)}")
    return panel.astype(float)


def correlation_matrix(returns_panel: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation of daily returns over the common history."""
    return _common(returns_panel).corr()


def sample_covariance(returns_panel: pd.DataFrame) -> pd.DataFrame:
    """Sample covariance (ddof=1) of daily returns times 252 (annual units)."""
    return _common(returns_panel).cov(ddof=1) * TRADING_DAYS_PER_YEAR


def ledoit_wolf_covariance(returns_panel: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Ledoit-Wolf shrunk covariance (``sklearn.covariance.LedoitWolf``, data centred, maximum-
    likelihood ddof=0 sample covariance shrunk toward ``mu I``) times 252, and the shrinkage."""
    panel = _common(returns_panel)
    model = LedoitWolf().fit(panel.to_numpy())
    cov = pd.DataFrame(model.covariance_ * TRADING_DAYS_PER_YEAR, index=panel.columns, columns=panel.columns)
    return cov, float(model.shrinkage_)
