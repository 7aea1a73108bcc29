"""Correlation, covariance (sample and Ledoit-Wolf) and risk contributions by asset class."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.analysis.domain import (
    WeightsError,
    correlation_matrix,
    daily_returns,
    ledoit_wolf_covariance,
    portfolio_risk,
    risk_contributions,
    risk_metrics,
    sample_covariance,
)

from . import reference as ref

SYMBOLS = ["VTI", "BND", "VNQ", "GLD"]
START, END = dt.date(2015, 1, 2), dt.date(2019, 12, 31)


def _returns_lists() -> dict[str, list[float]]:
    out = {}
    for s in SYMBOLS:
        _, out[s] = ref.portfolio_returns({s: 1.0}, START, END)
    return out


def _panel() -> pd.DataFrame:
    cols = {}
    for s in SYMBOLS:
        closes = {d: c for d, c in ref.price_closes(s).items() if START <= d <= END}
        cols[s] = pd.Series(list(closes.values()), index=pd.DatetimeIndex(list(closes)))
    return daily_returns(pd.concat(cols, axis=1))


RETS = _returns_lists()
PANEL = _panel()


def test_correlation_and_sample_covariance_match_statistics_module() -> None:
    corr = correlation_matrix(PANEL)
    cov = sample_covariance(PANEL)
    for a in SYMBOLS:
        for b in SYMBOLS:
            assert corr.loc[a, b] == pytest.approx(statistics.correlation(RETS[a], RETS[b]), rel=1e-9)
            assert cov.loc[a, b] == pytest.approx(252 * statistics.covariance(RETS[a], RETS[b]), rel=1e-9)


def test_ledoit_wolf_matches_the_published_formula() -> None:
    """Ledoit & Wolf (2004), as sklearn normalizes it: S = X'X/n of centred X, mu = tr(S)/p,
    delta = |S - mu I|^2 / p, beta = min(delta, sum_k |x_k x_k' - S|^2 / n^2 / p), shrink = beta/delta."""
    n, p = len(RETS["VTI"]), len(SYMBOLS)
    cols = [[r - statistics.fmean(RETS[s]) for r in RETS[s]] for s in SYMBOLS]
    rows = list(zip(*cols, strict=True))
    s_mat = [[sum(x[i] * x[j] for x in rows) / n for j in range(p)] for i in range(p)]
    mu = sum(s_mat[i][i] for i in range(p)) / p
    delta = sum((s_mat[i][j] - (mu if i == j else 0.0)) ** 2 for i in range(p) for j in range(p)) / p
    beta_bar = sum((x[i] * x[j] - s_mat[i][j]) ** 2 for x in rows for i in range(p) for j in range(p)) / (n * n * p)
    shrink = min(beta_bar, delta) / delta
    cov, shrinkage = ledoit_wolf_covariance(PANEL)
    assert shrinkage == pytest.approx(shrink, rel=1e-7)
    for i, a in enumerate(SYMBOLS):
        for j, b in enumerate(SYMBOLS):
            target = shrink * mu * (i == j) + (1 - shrink) * s_mat[i][j]
            assert cov.loc[a, b] == pytest.approx(252 * target, rel=1e-7)


def test_contributions_by_hand_for_uncorrelated_assets() -> None:
    cov = pd.DataFrame(np.diag([0.04, 0.01]), index=["A", "B"], columns=["A", "B"])
    # w = (0.5, 0.5): variances 0.01 and 0.0025 of 0.0125 in total
    shares = risk_contributions({"A": 0.5, "B": 0.5}, cov)
    assert list(shares) == pytest.approx([0.8, 0.2])


def test_portfolio_risk_before_after_by_class() -> None:
    before = {"VTI": 0.6, "BND": 0.4}
    after = {"VTI": 0.5, "BND": 0.3, "VNQ": 0.1, "GLD": 0.1}
    risk = portfolio_risk(PANEL, before, after)
    # the same volatility as risk_metrics over the same window
    assert risk.before.volatility == pytest.approx(risk_metrics(PANEL, before, 0.0).volatility, rel=1e-10)
    assert risk.after is not None and risk.volatility_change is not None
    assert risk.after.volatility == pytest.approx(risk_metrics(PANEL, after, 0.0).volatility, rel=1e-10)
    # Euler shares recomputed with loops over the statistics-module covariance
    cov = {(a, b): statistics.covariance(RETS[a], RETS[b]) for a in SYMBOLS for b in SYMBOLS}
    var_p = sum(after[a] * after[b] * cov[a, b] for a in after for b in after)
    share = {a: after[a] * sum(cov[a, b] * after[b] for b in after) / var_p for a in after}
    assert risk.after.contributions == pytest.approx(share, rel=1e-9)
    assert risk.after.contributions_by_class == pytest.approx(
        {"bond": share["BND"], "commodity": share["GLD"], "equity": share["VTI"], "reit": share["VNQ"]},
        rel=1e-9,
    )
    assert math.fsum(risk.before.contributions_by_class.values()) == pytest.approx(1.0)
    assert risk.to_json_dict()["after"]["weights"] == after


def test_shrunk_portfolio_risk_reports_shrinkage() -> None:
    risk = portfolio_risk(PANEL, {"VTI": 1.0}, shrink=True)
    assert risk.covariance_method == "ledoit_wolf" and risk.shrinkage is not None
    assert risk.before.contributions_by_class == {"equity": pytest.approx(1.0)}


def test_portfolio_risk_rejects_unknown_symbols_and_bad_sums() -> None:
    with pytest.raises(WeightsError, match="XLK"):
        portfolio_risk(PANEL, {"VTI": 0.5, "XLK": 0.5})
    with pytest.raises(WeightsError, match=r"sum to 1\.1"):
        portfolio_risk(PANEL, {"VTI": 0.6, "BND": 0.4}, {"VTI": 0.6, "BND": 0.5})


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=4, max_size=4))
def test_shares_always_sum_to_one(raw: list[float]) -> None:
    total = sum(raw)
    weights = {s: w / total for s, w in zip(SYMBOLS, raw, strict=True)}
    shares = risk_contributions(weights, sample_covariance(PANEL))
    assert math.fsum(shares) == pytest.approx(1.0, abs=1e-9)
