"""The :func:`risk_metrics` facade: every risk figure of a fixed-weight portfolio."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from .metrics import (
    annualized_volatility,
    beta,
    historical_cvar,
    historical_var,
    max_drawdown,
    parametric_var,
    sharpe_ratio,
    sortino_ratio,
)
from .returns import portfolio_returns

__all__ = ["RiskMetrics", "json_float", "risk_metrics"]


def json_float(value: float | None) -> float | None:
    """A float for JSON: NaN and infinities become ``None``."""
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskMetrics:
    """Risk of a portfolio over ``start..end`` (dates of its first and last daily return).

    ``volatility`` annualized fraction; ``max_drawdown``, ``var_95``, ``cvar_95``,
    ``parametric_var_95`` positive one-day (drawdown: whole-period) loss fractions; ``sharpe``,
    ``sortino`` annualized ratios on excess returns; ``beta`` vs the benchmark (None without one).
    """

    volatility: float
    max_drawdown: float
    var_95: float
    cvar_95: float
    parametric_var_95: float
    sharpe: float
    sortino: float
    beta: float | None
    start: dt.date
    end: dt.date
    observations: int

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: json_float(v) if isinstance(v, float) else v for k, v in asdict(self).items()}
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        return out


def risk_metrics(
    returns_panel: pd.DataFrame,
    weights: Mapping[str, float],
    rf_daily: pd.Series | float,
    benchmark_returns: pd.Series | None = None,
) -> RiskMetrics:
    """Risk figures of ``sum_i w_i r_i,t`` over the common history of the weighted symbols.

    ``returns_panel``: daily simple returns, dates x symbols; ``weights``: symbol -> fraction,
    summing to 1 (``WeightsError`` otherwise); ``rf_daily``: daily risk-free fraction per date
    (see ``rf_daily_from_irx``) or a constant; ``benchmark_returns``: daily returns for ``beta``.
    """
    port = portfolio_returns(returns_panel, weights)
    return RiskMetrics(
        volatility=annualized_volatility(port),
        max_drawdown=max_drawdown(port),
        var_95=historical_var(port),
        cvar_95=historical_cvar(port),
        parametric_var_95=parametric_var(port),
        sharpe=sharpe_ratio(port, rf_daily),
        sortino=sortino_ratio(port, rf_daily),
        beta=None if benchmark_returns is None else beta(port, benchmark_returns),
        start=pd.Timestamp(port.index[0]).date(),
        end=pd.Timestamp(port.index[-1]).date(),
        observations=len(port),
    )
