"""The :func:`portfolio_risk` facade: volatility and risk by asset class, before and after trades."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from shared.securities import default_securities

from ._exceptions import WeightsError
from .contributions import contributions_by_class, portfolio_volatility, risk_contributions
from .covariance import ledoit_wolf_covariance, sample_covariance
from .returns import validate_weights

__all__ = ["PortfolioRisk", "RiskSnapshot", "portfolio_risk"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSnapshot:
    """Risk of one weight vector: annualized ``volatility`` (fraction) and the share of it each
    symbol / asset class carries (fractions summing to 1)."""

    weights: dict[str, float]
    volatility: float
    contributions: dict[str, float]
    contributions_by_class: dict[str, float]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "volatility": self.volatility,
            "contributions": dict(self.contributions),
            "contributions_by_class": dict(self.contributions_by_class),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioRisk:
    """Risk before and (optionally) after planned trades, from one covariance estimate."""

    before: RiskSnapshot
    after: RiskSnapshot | None
    volatility_change: float | None
    covariance_method: str
    shrinkage: float | None
    start: dt.date
    end: dt.date
    observations: int

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "before": self.before.to_json_dict(),
            "after": None if self.after is None else self.after.to_json_dict(),
            "volatility_change": self.volatility_change,
            "covariance_method": self.covariance_method,
            "shrinkage": self.shrinkage,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "observations": self.observations,
        }


def _snapshot(weights: Mapping[str, float], cov: pd.DataFrame, asset_class: Callable[[str], str]) -> RiskSnapshot:
    w = validate_weights(weights, cov.index)
    as_dict = {str(k): float(v) for k, v in w.items()}
    return RiskSnapshot(
        weights=as_dict,
        volatility=portfolio_volatility(as_dict, cov),
        contributions={str(k): float(v) for k, v in risk_contributions(as_dict, cov).items()},
        contributions_by_class=contributions_by_class(as_dict, cov, asset_class),
    )


def portfolio_risk(
    returns_panel: pd.DataFrame,
    weights_before: Mapping[str, float],
    weights_after: Mapping[str, float] | None = None,
    *,
    shrink: bool = False,
    asset_class: Callable[[str], str] | None = None,
) -> PortfolioRisk:
    """Volatility and Euler risk contributions by asset class, before and after trades.

    The covariance is estimated over the common history of every symbol in either weight vector:
    the annualized sample covariance (ddof=1; then ``before.volatility`` equals
    ``RiskMetrics.volatility`` for the same window) or, with ``shrink=True``, Ledoit-Wolf.
    Asset classes come from ``shared.securities.default_securities()`` unless ``asset_class`` is
    given. Both weight vectors must sum to 1 (hold cash as a cash ETF such as SGOV or BIL).
    """
    symbols = list(dict.fromkeys([*weights_before, *(weights_after or {})]))
    missing = [s for s in symbols if s not in returns_panel.columns]
    if missing:
        raise WeightsError(f"no returns for weighted symbol(s) {', '.join(missing)}")
    panel = returns_panel[symbols].dropna(how="any")
    classify = asset_class or default_securities().asset_class
    shrinkage: float | None = None
    if shrink:
        cov, shrinkage = ledoit_wolf_covariance(panel)
    else:
        cov = sample_covariance(panel)
    before = _snapshot(weights_before, cov, classify)
    after = None if weights_after is None else _snapshot(weights_after, cov, classify)
    return PortfolioRisk(
        before=before,
        after=after,
        volatility_change=None if after is None else after.volatility - before.volatility,
        covariance_method="ledoit_wolf" if shrink else "sample",
        shrinkage=shrinkage,
        start=pd.Timestamp(panel.index[0]).date(),
        end=pd.Timestamp(panel.index[-1]).date(),
        observations=len(panel),
    )
