"""Independent, deliberately plain re-implementations used to check the analysis domain:
the csv module, Python loops and the statistics module; no pandas, no numpy."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
import statistics
from pathlib import Path

MARKET = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"


def read_closes(path: Path) -> dict[dt.date, float]:
    with path.open(newline="") as fh:
        return {dt.date.fromisoformat(row["date"]): float(row["close"]) for row in csv.DictReader(fh)}


def price_closes(symbol: str) -> dict[dt.date, float]:
    return read_closes(MARKET / "prices" / f"{symbol}.csv")


def index_closes(name: str) -> dict[dt.date, float]:
    return read_closes(MARKET / "indices" / f"{name}.csv")


def portfolio_returns(weights: dict[str, float], start: dt.date, end: dt.date) -> tuple[list[dt.date], list[float]]:
    """Daily returns of daily-rebalanced weights over price dates in [start, end] common to all."""
    closes = {s: price_closes(s) for s in weights}
    days = sorted(d for d in set.intersection(*(set(c) for c in closes.values())) if start <= d <= end)
    dates, rets = [], []
    for prev, day in itertools.pairwise(days):
        r = 0.0
        for s, w in weights.items():
            r += w * (closes[s][day] / closes[s][prev] - 1.0)
        dates.append(day)
        rets.append(r)
    return dates, rets


def rf_daily(dates: list[dt.date]) -> list[float]:
    """IRX on each date, else the last earlier value, / 100 / 252."""
    irx = index_closes("IRX")
    known = sorted(irx)
    out, i, last = [], 0, None
    for day in dates:
        while i < len(known) and known[i] <= day:
            last = irx[known[i]]
            i += 1
        assert last is not None
        out.append(last / 100.0 / 252.0)
    return out


def quantile_linear(values: list[float], q: float) -> float:
    """Hyndman-Fan type 7, written out."""
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def max_drawdown(rets: list[float]) -> float:
    value, peak, worst = 1.0, 1.0, 0.0
    for r in rets:
        value *= 1.0 + r
        peak = max(peak, value)
        worst = max(worst, 1.0 - value / peak)
    return worst


def all_metrics(rets: list[float], rf: list[float], bench: list[float]) -> dict[str, float]:
    var_q = quantile_linear(rets, 0.05)
    tail = [r for r in rets if r <= var_q]
    excess = [r - f for r, f in zip(rets, rf, strict=True)]
    down = math.sqrt(sum(min(e, 0.0) ** 2 for e in excess) / len(excess))
    mu, sd = statistics.fmean(rets), statistics.stdev(rets)
    return {
        "volatility": sd * math.sqrt(252),
        "max_drawdown": max_drawdown(rets),
        "var_95": -var_q,
        "cvar_95": -sum(tail) / len(tail),
        "parametric_var_95": -(mu + statistics.NormalDist().inv_cdf(0.05) * sd),
        "sharpe": statistics.fmean(excess) / statistics.stdev(excess) * math.sqrt(252),
        "sortino": statistics.fmean(excess) / down * math.sqrt(252),
        "beta": statistics.covariance(rets, bench) / statistics.variance(bench),
    }
