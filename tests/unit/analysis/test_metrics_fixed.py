"""Hand-checkable cases for each statistic."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.analysis.domain import (
    InsufficientDataError,
    annualized_volatility,
    beta,
    historical_cvar,
    historical_var,
    max_drawdown,
    parametric_var,
    sharpe_ratio,
    sortino_ratio,
)

RETS = [0.1, -0.2, 0.05, -0.1, 0.3]
DATES = pd.date_range("2024-01-01", periods=5, freq="D")
SERIES = pd.Series(RETS, index=DATES)


def test_max_drawdown_by_hand() -> None:
    # values 1, 1.1, 0.88, 0.924, 0.8316, 1.08108: peak 1.1, trough 0.8316
    assert max_drawdown(SERIES) == pytest.approx(1 - 0.8316 / 1.1, abs=1e-12)
    assert max_drawdown([0.01, 0.02]) == 0.0
    # the start value 1 counts as a peak: an immediate fall is a drawdown
    assert max_drawdown([-0.5, 0.1]) == pytest.approx(0.5)


def test_var_and_cvar_by_hand() -> None:
    # sorted -0.2, -0.1, 0.05, 0.1, 0.3; linear quantile at h = 4 * 0.05 = 0.2: -0.2 + 0.2 * 0.1 = -0.18
    assert historical_var(SERIES) == pytest.approx(0.18, abs=1e-12)
    # only -0.2 is at or below -0.18
    assert historical_cvar(SERIES) == pytest.approx(0.2, abs=1e-12)
    # 100 returns -0.99, ..., 0: quantile at h = 99 * 0.05 = 4.95 -> -0.94 - 0.95 * (0.01) ... written out:
    hundred = [i / 100 - 0.99 for i in range(100)]
    q = hundred[4] + 0.95 * (hundred[5] - hundred[4])
    assert historical_var(hundred) == pytest.approx(-q, abs=1e-12)
    assert historical_cvar(hundred) == pytest.approx(-sum(hundred[:5]) / 5, abs=1e-12)


def test_volatility_and_parametric_var_by_hand() -> None:
    sd = statistics.stdev(RETS)
    assert annualized_volatility(SERIES) == pytest.approx(sd * math.sqrt(252), rel=1e-12)
    assert parametric_var(SERIES) == pytest.approx(-(0.03 - 1.6448536269514722 * sd), rel=1e-9)


def test_sharpe_sortino_by_hand() -> None:
    # rf 0: mean 0.03; downside deviation sqrt((0.04 + 0.01) / 5) = 0.1
    assert sortino_ratio(SERIES, 0.0) == pytest.approx(0.03 / 0.1 * math.sqrt(252), rel=1e-12)
    assert sharpe_ratio(SERIES, 0.0) == pytest.approx(0.03 / statistics.stdev(RETS) * math.sqrt(252))
    # a constant daily rf of 0.01 shifts excess down by 0.01
    rf = pd.Series(0.01, index=DATES)
    down = math.sqrt(((-0.21) ** 2 + (-0.11) ** 2) / 5)
    assert sortino_ratio(SERIES, rf) == pytest.approx(0.02 / down * math.sqrt(252), rel=1e-12)


def test_sharpe_needs_rf_on_every_day() -> None:
    with pytest.raises(InsufficientDataError, match="2024-01-05"):
        sharpe_ratio(SERIES, pd.Series(0.0, index=DATES[:4]))


def test_beta_by_hand() -> None:
    bench = pd.Series([0.01, -0.02, 0.03, 0.0, 0.015], index=DATES)
    assert beta(2.0 * bench + 0.001, bench) == pytest.approx(2.0, rel=1e-12)
    assert beta(-0.5 * bench, bench) == pytest.approx(-0.5, rel=1e-12)


def test_too_few_returns_is_a_clear_error() -> None:
    with pytest.raises(InsufficientDataError, match="at least 2"):
        annualized_volatility([0.01])


returns_lists = st.lists(st.floats(min_value=-0.5, max_value=0.5, allow_nan=False), min_size=3, max_size=60)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(returns_lists)
def test_loss_measures_are_ordered(rets: list[float]) -> None:
    arr = np.array(rets)
    dd = max_drawdown(arr)
    assert 0.0 <= dd < 1.0
    assert historical_cvar(arr) >= historical_var(arr) - 1e-12
    assert historical_var(arr) <= -min(rets) + 1e-12
