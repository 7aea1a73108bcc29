"""``rebalance risk``: risk metrics of a fixed-weight portfolio over the shipped price history.

    rebalance risk --weights VTI=0.6,BND=0.4 [--start DATE] [--end DATE] [--benchmark VTI] [--json]

The window defaults to the common history of the weighted symbols and the benchmark (every day
all of them have prices); ``--start``/``--end`` narrow it and must lie inside it. Returns run from
the first session after the window's first price, so ``start`` in the output is the date of the
first daily return. Weights must sum to 1 within 1e-6. Bad input: exit code 2, a message on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Annotated

import typer

from services.analysis.domain import (
    RiskMetrics,
    daily_returns,
    rf_daily_from_irx,
    risk_metrics,
)
from services.market_data.domain import FileMarketDataProvider
from shared.errors import InvalidInputError

__all__ = ["compute_risk", "parse_weights", "register"]

_RF_LOOKBACK_DAYS = 31  # IRX history fetched before the window start, to carry a value forward


class RiskInputError(InvalidInputError, ValueError):
    """Bad command-line input (exit code 2)."""


def parse_weights(text: str) -> dict[str, float]:
    """``"VTI=0.6,BND=0.4"`` -> ``{"VTI": 0.6, "BND": 0.4}``; symbols upper-cased."""
    weights: dict[str, float] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        symbol, sep, number = item.partition("=")
        symbol = symbol.strip().upper()
        if not sep or not symbol:
            raise RiskInputError(f"bad weight {item!r}: expected SYMBOL=FRACTION, e.g. VTI=0.6")
        try:
            value = float(number)
        except ValueError:
            raise RiskInputError(f"bad weight {item!r}: {number.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise RiskInputError(f"bad weight {item!r}: not a finite number")
        if symbol in weights:
            raise RiskInputError(f"symbol {symbol} is given twice in --weights")
        weights[symbol] = value
    if not weights:
        raise RiskInputError("--weights is empty: expected e.g. VTI=0.6,BND=0.4")
    total = math.fsum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise RiskInputError(f"weights sum to {total:.9g}, they must sum to 1 (within 1e-6)")
    return weights


def _parse_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise RiskInputError(f"{option} {text!r} is not an ISO date (YYYY-MM-DD)") from None


def compute_risk(
    provider: FileMarketDataProvider,
    weights: dict[str, float],
    benchmark: str = "VTI",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> RiskMetrics:
    """Load prices and the T-bill yield from ``provider`` and compute :class:`RiskMetrics`."""
    benchmark = benchmark.strip().upper()
    symbols = list(dict.fromkeys([*weights, benchmark]))
    ranges = {s: provider.date_range(s) for s in symbols}  # UnknownSymbolError for unknown ones
    first = max(r[0] for r in ranges.values())
    last = min(r[1] for r in ranges.values())
    if start is not None and end is not None and start > end:
        raise RiskInputError(f"--start {start} is after --end {end}")
    lo, hi = start or first, end or last
    if lo < first or hi > last:
        raise RiskInputError(
            f"window {lo} .. {hi} is outside the common history of {', '.join(symbols)}: {first} .. {last}"
        )
    if lo > hi:
        raise RiskInputError(f"window start {lo} is after its end {hi}")
    prices = provider.history(symbols, lo, hi)
    if len(prices) < 3:
        raise RiskInputError(f"window {lo} .. {hi} has {len(prices)} trading day(s); need at least 3")
    returns = daily_returns(prices)
    irx_first, _ = provider.index_date_range("IRX")
    irx = provider.index_history("IRX", max(irx_first, lo - dt.timedelta(days=_RF_LOOKBACK_DAYS)), hi)
    rf = rf_daily_from_irx(irx, returns.index)
    return risk_metrics(returns[list(weights)], weights, rf, returns[benchmark])


def _table(metrics: RiskMetrics, weights: dict[str, float], benchmark: str) -> None:
    from rich.console import Console
    from rich.table import Table

    title = ", ".join(f"{s} {w:.1%}" for s, w in weights.items())
    table = Table(title=f"Risk of {title} ({metrics.start} .. {metrics.end}, {metrics.observations} days)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("volatility (annual)", f"{metrics.volatility:.2%}"),
        ("max drawdown", f"{metrics.max_drawdown:.2%}"),
        ("VaR 95% (1 day, historical)", f"{metrics.var_95:.2%}"),
        ("CVaR 95% (1 day, historical)", f"{metrics.cvar_95:.2%}"),
        ("VaR 95% (1 day, normal)", f"{metrics.parametric_var_95:.2%}"),
        ("Sharpe (annual)", f"{metrics.sharpe:.3f}"),
        ("Sortino (annual)", f"{metrics.sortino:.3f}"),
        (f"beta vs {benchmark}", "n/a" if metrics.beta is None else f"{metrics.beta:.3f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add the ``risk`` command to ``app``."""

    @app.command("risk")
    def risk(
        weights: Annotated[str, typer.Option("--weights", help="SYMBOL=FRACTION,... summing to 1")],
        start: Annotated[str | None, typer.Option("--start", help="first price date (ISO)")] = None,
        end: Annotated[str | None, typer.Option("--end", help="last price date (ISO)")] = None,
        benchmark: Annotated[str, typer.Option("--benchmark", help="symbol for beta")] = "VTI",
        as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    ) -> None:
        """Volatility, drawdown, VaR/CVaR, Sharpe, Sortino and beta of fixed weights (daily rebalanced)."""
        try:
            parsed = parse_weights(weights)
            metrics = compute_risk(
                FileMarketDataProvider(),
                parsed,
                benchmark,
                _parse_date(start, "--start"),
                _parse_date(end, "--end"),
            )
        except InvalidInputError as exc:  # the error tree's one mapping at the CLI: exit 2
            typer.echo(f"rebalance risk: {exc}", err=True)
            raise typer.Exit(code=2) from None
        if as_json:
            typer.echo(json.dumps(metrics.to_json_dict(), allow_nan=False))
        else:
            _table(metrics, parsed, benchmark.strip().upper())
