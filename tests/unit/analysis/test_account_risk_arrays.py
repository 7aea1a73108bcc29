"""The analysis step's per-account risk in numpy equals the pandas definitions (risk_metrics over the
common window, Ledoit-Wolf by sklearn, contributions by class) on the shipped data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import LedoitWolf

from services.analysis.domain import (
    InsufficientDataError,
    ReturnsArrays,
    WeightsError,
    account_risk,
    contributions_by_class,
    daily_returns,
    ledoit_wolf_arrays,
    ledoit_wolf_covariance,
    rf_daily_from_irx,
    risk_metrics,
)
from shared.securities import default_securities

from . import reference as ref

FIELDS = ["volatility", "max_drawdown", "var_95", "cvar_95", "parametric_var_95", "sharpe", "sortino", "beta"]
SYMBOLS = ["VTI", "BND", "VNQ", "TLT", "GLD", "QQQ", "IJR", "BNDX", "XLC"]  # XLC starts in 2018


def _closes(symbols: list[str]) -> pd.DataFrame:
    cols = {}
    for s in symbols:
        closes = ref.price_closes(s)
        cols[s] = pd.Series(list(closes.values()), index=pd.DatetimeIndex(list(closes)))
    return pd.concat(cols, axis=1).sort_index().loc["2016-01-01":]


def _irx() -> pd.Series:
    irx = ref.index_closes("IRX")
    return pd.Series(list(irx.values()), index=pd.DatetimeIndex(list(irx)))


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    return daily_returns(_closes(SYMBOLS))


def _pandas_risk(returns: pd.DataFrame, weights: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """What the analysis step computed per account before (pandas and sklearn)."""
    held = list(weights)
    window = returns[sorted({*held, "VTI"})].dropna()
    metrics = risk_metrics(window[held], weights, rf_daily_from_irx(_irx(), window.index), window["VTI"])
    covariance, _ = ledoit_wolf_covariance(window[held].dropna())
    by_class = contributions_by_class(weights, covariance, default_securities().asset_class)
    return {f: getattr(metrics, f) for f in FIELDS} | {"observations": metrics.observations}, by_class


@pytest.mark.parametrize(
    "weights",
    [
        {"BND": 0.4, "VTI": 0.6},
        {"GLD": 0.1, "TLT": 0.2, "VNQ": 0.2, "VTI": 0.5},
        {"BNDX": 0.25, "IJR": 0.25, "QQQ": 0.25, "XLC": 0.25},  # a shorter common history (XLC)
        {"GLD": 1.0},
    ],
)
def test_numpy_account_risk_equals_the_pandas_definitions(returns: pd.DataFrame, weights: dict[str, float]) -> None:
    arrays = ReturnsArrays.of(returns, _irx())
    metrics, by_class = account_risk(arrays, weights, "VTI", default_securities().asset_class)
    expected, expected_by_class = _pandas_risk(returns, weights)
    for field in FIELDS:
        assert getattr(metrics, field) == pytest.approx(expected[field], rel=1e-12, abs=1e-15), field
    assert metrics.observations == expected["observations"]
    assert by_class.keys() == expected_by_class.keys()
    for key, share in by_class.items():
        assert share == pytest.approx(expected_by_class[key], rel=1e-9, abs=1e-12), key
    assert math.fsum(by_class.values()) == pytest.approx(1.0)


def test_ledoit_wolf_arrays_is_sklearns_estimator(returns: pd.DataFrame) -> None:
    for columns in (["VTI", "BND"], ["VTI", "BND", "VNQ", "TLT", "GLD", "QQQ", "IJR"], ["GLD"]):
        x = returns[columns].dropna().to_numpy()
        fitted = LedoitWolf().fit(x)
        covariance, shrinkage = ledoit_wolf_arrays(x)
        assert shrinkage == pytest.approx(fitted.shrinkage_, rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(covariance, fitted.covariance_, rtol=1e-12, atol=0)


def test_bad_weights_and_a_window_without_rates_are_named(returns: pd.DataFrame) -> None:
    arrays = ReturnsArrays.of(returns, _irx())
    asset_class = default_securities().asset_class
    with pytest.raises(WeightsError, match="ZZZZ"):
        account_risk(arrays, {"ZZZZ": 1.0}, "VTI", asset_class)
    with pytest.raises(WeightsError, match="sum to"):
        account_risk(arrays, {"VTI": 0.5}, "VTI", asset_class)
    late_rates = ReturnsArrays.of(returns, _irx().loc["2020-01-01":])
    with pytest.raises(InsufficientDataError, match="T-bill"):
        account_risk(late_rates, {"VTI": 1.0}, "VTI", asset_class)
