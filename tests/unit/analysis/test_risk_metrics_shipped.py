"""Every RiskMetrics figure on the shipped data against the plain re-implementation in reference.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from services.analysis.domain import (
    RiskMetrics,
    WeightsError,
    daily_returns,
    portfolio_returns,
    rf_daily_from_irx,
    risk_metrics,
)

from . import reference as ref

FIELDS = ["volatility", "max_drawdown", "var_95", "cvar_95", "parametric_var_95", "sharpe", "sortino", "beta"]


def _panel(symbols: list[str]) -> pd.DataFrame:
    cols = {}
    for s in symbols:
        closes = ref.price_closes(s)
        cols[s] = pd.Series(list(closes.values()), index=pd.DatetimeIndex(list(closes)))
    return pd.concat(cols, axis=1)


def _irx() -> pd.Series:
    irx = ref.index_closes("IRX")
    return pd.Series(list(irx.values()), index=pd.DatetimeIndex(list(irx)))


@pytest.mark.parametrize(
    ("weights", "start", "end"),
    [
        ({"VTI": 0.6, "BND": 0.4}, dt.date(2010, 1, 4), dt.date(2024, 12, 31)),
        ({"VTI": 0.5, "VNQ": 0.2, "TLT": 0.2, "GLD": 0.1}, dt.date(2007, 1, 3), dt.date(2026, 5, 1)),
        ({"SPY": 1.0}, dt.date(2020, 1, 2), dt.date(2020, 12, 31)),
    ],
)
def test_risk_metrics_match_reference(weights: dict[str, float], start: dt.date, end: dt.date) -> None:
    dates, rets = ref.portfolio_returns(weights, start, end)
    _, bench = ref.portfolio_returns({"VTI": 1.0}, start, end)
    expected = ref.all_metrics(rets, ref.rf_daily(dates), bench)

    prices = _panel([*weights, "VTI"]).loc[pd.Timestamp(start) : pd.Timestamp(end)]
    prices = prices.loc[:, ~prices.columns.duplicated()]
    returns = daily_returns(prices)
    got = risk_metrics(returns[list(weights)], weights, rf_daily_from_irx(_irx(), returns.index), returns["VTI"])
    assert got.observations == len(rets)
    assert (got.start, got.end) == (dates[0], dates[-1])
    for field in FIELDS:
        assert getattr(got, field) == pytest.approx(expected[field], rel=1e-9, abs=1e-12), field


def test_sixty_forty_known_levels() -> None:
    """Sanity anchors: a 60/40 VTI/BND over 2010-2024 is a ~10% volatility, beta ~0.6 portfolio."""
    start, end = dt.date(2010, 1, 4), dt.date(2024, 12, 31)
    dates, rets = ref.portfolio_returns({"VTI": 0.6, "BND": 0.4}, start, end)
    m = ref.all_metrics(rets, ref.rf_daily(dates), ref.portfolio_returns({"VTI": 1.0}, start, end)[1])
    assert 0.08 < m["volatility"] < 0.13
    assert 0.15 < m["max_drawdown"] < 0.30  # 2020 and 2022


def test_rf_carries_last_value_forward() -> None:
    irx = pd.Series([5.0, 4.0], index=pd.DatetimeIndex(["2024-01-02", "2024-01-05"]))
    days = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"])
    assert list(rf_daily_from_irx(irx, days)) == pytest.approx([5 / 25200, 5 / 25200, 4 / 25200, 4 / 25200])


def test_common_history_only() -> None:
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"])
    panel = pd.DataFrame({"A": [0.01, 0.02, 0.03], "B": [None, 0.0, 0.01]}, index=idx)
    port = portfolio_returns(panel, {"A": 0.5, "B": 0.5})
    assert list(port) == pytest.approx([0.01, 0.02])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"A": 0.5, "B": 0.4}, "sum to 0.9"),
        ({"A": 0.5, "C": 0.5}, "C"),
        ({}, "no weights"),
        ({"A": float("nan"), "B": 1.0}, "finite"),
    ],
)
def test_bad_weights(weights: dict[str, float], message: str) -> None:
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"])
    panel = pd.DataFrame({"A": [0.01, 0.02, 0.03], "B": [0.0, 0.0, 0.01]}, index=idx)
    with pytest.raises(WeightsError, match=message):
        risk_metrics(panel, weights, 0.0)


def test_json_dict_is_plain() -> None:
    m = RiskMetrics(
        volatility=0.1,
        max_drawdown=0.2,
        var_95=0.01,
        cvar_95=0.02,
        parametric_var_95=0.015,
        sharpe=float("nan"),
        sortino=1.0,
        beta=None,
        start=dt.date(2020, 1, 2),
        end=dt.date(2020, 2, 3),
        observations=21,
    )
    d = m.to_json_dict()
    assert d["start"] == "2020-01-02" and d["sharpe"] is None and d["beta"] is None
    assert d["observations"] == 21
