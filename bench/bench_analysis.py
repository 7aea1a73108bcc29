"""Benchmark (not a test): time the analysis facades on the shipped history.

Run: .venv/bin/python -m bench.bench_analysis
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from services.analysis.domain import (
    daily_returns,
    market_regime,
    portfolio_risk,
    rf_daily_from_irx,
    risk_metrics,
)
from services.market_data.domain import FileMarketDataProvider


def _time(label: str, fn: Callable[[], object], repeat: int = 20) -> None:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    print(f"{label:<45} {(time.perf_counter() - t0) / repeat * 1e3:8.2f} ms")


def main() -> None:
    p = FileMarketDataProvider()
    symbols = ["VTI", "VEA", "VWO", "BND", "TLT", "VNQ", "GLD", "SHY"]
    t0 = time.perf_counter()
    prices = p.history(symbols, dt.date(2008, 1, 2), dt.date(2026, 5, 1))
    print(f"{'load 8 symbols (cold)':<45} {(time.perf_counter() - t0) * 1e3:8.2f} ms")
    returns = daily_returns(prices)
    rf = rf_daily_from_irx(p.index_history("IRX", dt.date(2007, 12, 1), dt.date(2026, 5, 1)), returns.index)
    weights = {s: 1 / len(symbols) for s in symbols}
    vix = p.index_history("VIX", dt.date(1990, 1, 2), dt.date(2026, 7, 31))
    vti = p.history(["VTI"], dt.date(2005, 1, 3), dt.date(2026, 5, 1))["VTI"]
    _time("risk_metrics (8 assets, 18 years)", lambda: risk_metrics(returns, weights, rf, returns["VTI"]))
    _time("portfolio_risk sample, before/after", lambda: portfolio_risk(returns, weights, weights))
    _time("portfolio_risk Ledoit-Wolf", lambda: portfolio_risk(returns, weights, shrink=True))
    _time("market_regime", lambda: market_regime(vix, vti, dt.date(2020, 3, 16)))
    _time("quote (cached file)", lambda: p.quote("VTI", dt.date(2024, 1, 2)), repeat=1000)


if __name__ == "__main__":
    main()
