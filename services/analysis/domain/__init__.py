"""Analysis domain: risk metrics and market regime (pure; plain pandas/numpy inputs).

Facades: :func:`risk_metrics` -> :class:`RiskMetrics`, :func:`portfolio_risk` ->
:class:`PortfolioRisk`, :func:`market_regime` -> :class:`MarketRegime`. Definitions of every
figure: ``services/analysis/README.md``.
"""

from ._exceptions import AnalysisError, InsufficientDataError, RegimeDateError, WeightsError
from .account_risk import ReturnsArrays, account_risk, ledoit_wolf_arrays
from .contributions import contributions_by_class, portfolio_volatility, risk_contributions
from .covariance import correlation_matrix, ledoit_wolf_covariance, sample_covariance
from .metrics import (
    ANNUALIZATION,
    annualized_volatility,
    beta,
    historical_cvar,
    historical_var,
    max_drawdown,
    parametric_var,
    sharpe_ratio,
    sortino_ratio,
)
from .regime import (
    PERCENTILE_WINDOW,
    REALIZED_VOL_DAYS,
    RECOMMENDATION_BEARISH,
    RECOMMENDATION_FAVOURABLE,
    RECOMMENDATION_HIGH_VOL,
    STRESS_PERCENTILE,
    TREND_BAND,
    TREND_DAYS,
    MarketRegime,
    market_regime,
)
from .returns import (
    TRADING_DAYS_PER_YEAR,
    WEIGHT_TOLERANCE,
    daily_returns,
    portfolio_returns,
    rf_daily_from_irx,
    validate_weights,
)
from .risk_by_class import PortfolioRisk, RiskSnapshot, portfolio_risk
from .risk_summary import RiskMetrics, json_float, risk_metrics

__all__ = [
    "ANNUALIZATION",
    "PERCENTILE_WINDOW",
    "REALIZED_VOL_DAYS",
    "RECOMMENDATION_BEARISH",
    "RECOMMENDATION_FAVOURABLE",
    "RECOMMENDATION_HIGH_VOL",
    "STRESS_PERCENTILE",
    "TRADING_DAYS_PER_YEAR",
    "TREND_BAND",
    "TREND_DAYS",
    "WEIGHT_TOLERANCE",
    "AnalysisError",
    "InsufficientDataError",
    "MarketRegime",
    "PortfolioRisk",
    "RegimeDateError",
    "ReturnsArrays",
    "RiskMetrics",
    "RiskSnapshot",
    "WeightsError",
    "account_risk",
    "annualized_volatility",
    "beta",
    "contributions_by_class",
    "correlation_matrix",
    "daily_returns",
    "historical_cvar",
    "historical_var",
    "json_float",
    "ledoit_wolf_arrays",
    "ledoit_wolf_covariance",
    "market_regime",
    "max_drawdown",
    "parametric_var",
    "portfolio_returns",
    "portfolio_risk",
    "portfolio_volatility",
    "rf_daily_from_irx",
    "risk_contributions",
    "risk_metrics",
    "sample_covariance",
    "sharpe_ratio",
    "sortino_ratio",
    "validate_weights",
]
