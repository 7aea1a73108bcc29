"""A local stand-in for a Yahoo-chart-like quote API, serving the shipped CSV history over HTTP.

Only for tests: it lets the market data service run with ``MARKET_DATA_PROVIDER=http`` against a
real HTTP server on 127.0.0.1 (no network), answering the URL shape ``services/market_data/domain/chart_api.py``
documents.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

from tests.integration.expected import ROOT

NY = ZoneInfo("America/New_York")
MARKET = ROOT / "shared" / "data" / "market"


def _rows(symbol: str) -> list[dict[str, str]] | None:
    path = MARKET / "indices" / f"{symbol[1:]}.csv" if symbol.startswith("^") else MARKET / "prices" / f"{symbol}.csv"
    if not path.exists():
        return None
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _chart(symbol: str, start: dt.date, end_exclusive: dt.date) -> dict[str, Any] | None:
    rows = _rows(symbol)
    if rows is None:
        return None
    chosen = [r for r in rows if start <= dt.date.fromisoformat(r["date"]) < end_exclusive]
    stamps = [
        int(dt.datetime.combine(dt.date.fromisoformat(r["date"]), dt.time(16), tzinfo=NY).timestamp()) for r in chosen
    ]
    index = symbol.startswith("^")
    indicators: dict[str, Any] = {
        "quote": [{"close": [float(r["close"] if index else r["close_unadj"]) for r in chosen]}]
    }
    if not index:
        indicators["adjclose"] = [{"adjclose": [float(r["close"]) for r in chosen]}]
    result = {"meta": {"symbol": symbol, "currency": "USD"}, "timestamp": stamps, "indicators": indicators}
    return {"chart": {"result": [result], "error": None}}


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        type(self).requests.append(url.path)
        symbol = unquote(url.path.rsplit("/", 1)[-1])
        query = parse_qs(url.query)
        start = dt.datetime.fromtimestamp(int(query["period1"][0]), dt.UTC).date()
        end = dt.datetime.fromtimestamp(int(query["period2"][0]), dt.UTC).date()
        body = _chart(symbol, start, end)
        status = 200
        if body is None:
            status = 404
            body = {"chart": {"result": None, "error": {"code": "Not Found", "description": "No data found"}}}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def chart_api() -> Iterator[tuple[str, list[str]]]:
    """Serve the chart API on a random local port; yields its base URL and the paths requested."""

    class Handler(_Handler):  # a fresh class per server, so each has its own list of requests
        requests: ClassVar[list[str]] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Handler.requests
    finally:
        server.shutdown()
        server.server_close()
