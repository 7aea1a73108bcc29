"""The quote API the HTTP provider speaks: a Yahoo-Finance-chart-like JSON API.

Request (one symbol, daily bars, both bounds as Unix seconds, ``period2`` exclusive)::

    GET {base_url}/v8/finance/chart/{symbol}?period1={start 00:00 UTC}&period2={end+1d 00:00 UTC}
        &interval=1d&events=div

Index symbols are sent with a caret: ``^VIX``, ``^IRX``, ``^TNX``.

Response 200::

    {"chart": {"result": [{"meta": {"symbol": "VTI", "currency": "USD"},
                            "timestamp": [1714570200, ...],
                            "indicators": {"quote": [{"close": [354.18, ...]}],
                                           "adjclose": [{"adjclose": [354.179993, ...]}]}}],
               "error": null}}

``timestamp`` is the bar's Unix time; its date in America/New_York is the trading day. ``close``
is the actual (split-adjusted) close, ``adjclose`` the dividend-adjusted close (absent for
indices, then ``close`` is used). ``null`` entries are skipped. An unknown symbol is answered
404 with ``{"chart": {"result": null, "error": {"code": "Not Found", "description": ...}}}``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ._exceptions import ProviderError

__all__ = ["ChartBar", "chart_params", "chart_path", "parse_chart"]

NEW_YORK = ZoneInfo("America/New_York")
CLOSE_QUANTUM = Decimal("0.0001")
ADJ_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartBar:
    date: dt.date
    close: Decimal  # actual close, 4 decimals
    adj_close: Decimal  # adjusted close, 6 decimals


def chart_path(symbol: str) -> str:
    """``/v8/finance/chart/<symbol>``, percent-encoded (``^VIX`` -> ``%5EVIX``)."""
    return f"/v8/finance/chart/{quote(symbol, safe='')}"


def _unix(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def chart_params(start: dt.date, end: dt.date) -> dict[str, str]:
    return {
        "period1": str(_unix(start)),
        "period2": str(_unix(end + dt.timedelta(days=1))),
        "interval": "1d",
        "events": "div",
    }


def _decimal(value: float, quantum: Decimal) -> Decimal:
    return Decimal(repr(float(value))).quantize(quantum)


def parse_chart(payload: Any, symbol: str) -> list[ChartBar]:
    """Bars ascending by date; raises :class:`ProviderError` naming what is malformed."""
    try:
        chart = payload["chart"]
        if chart.get("error"):
            raise ProviderError(f"{symbol}: provider error {chart['error']}")
        result = chart["result"][0]
        stamps = result.get("timestamp") or []
        indicators = result["indicators"]
        closes = indicators["quote"][0]["close"]
        adj_lists = indicators.get("adjclose")
        adjs = adj_lists[0]["adjclose"] if adj_lists else closes
    except ProviderError:
        raise
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ProviderError(f"{symbol}: malformed chart payload ({type(exc).__name__}: {exc})") from None
    if not (len(stamps) == len(closes) == len(adjs)):
        raise ProviderError(f"{symbol}: chart arrays differ in length")
    bars: dict[dt.date, ChartBar] = {}
    for ts, close, adj in zip(stamps, closes, adjs, strict=True):
        if close is None or adj is None or not math.isfinite(close) or not math.isfinite(adj):
            continue
        day = dt.datetime.fromtimestamp(int(ts), tz=dt.UTC).astimezone(NEW_YORK).date()
        bars[day] = ChartBar(date=day, close=_decimal(close, CLOSE_QUANTUM), adj_close=_decimal(adj, ADJ_QUANTUM))
    return [bars[d] for d in sorted(bars)]
