"""The HTTP provider against a real local server (127.0.0.1, random port) and httpx.MockTransport.

Backoff and rate limiting sleep on a ManualClock, so only the timeout test waits for real."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.market_data.domain import (
    HttpMarketDataProvider,
    ManualClock,
    MarketDataProvider,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    RetryPolicy,
    UnknownSymbolError,
    parse_retry_after,
)

D = dt.date
NY = ZoneInfo("America/New_York")


def _ts(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 9, 30, tzinfo=NY).timestamp())


def chart(symbol: str, bars: Sequence[tuple[dt.date, float, float | None]], adj: bool = True) -> dict[str, Any]:
    indicators: dict[str, Any] = {"quote": [{"close": [b[1] for b in bars]}]}
    if adj:
        indicators["adjclose"] = [{"adjclose": [b[2] for b in bars]}]
    return {
        "chart": {
            "result": [{"meta": {"symbol": symbol}, "timestamp": [_ts(b[0]) for b in bars], "indicators": indicators}],
            "error": None,
        }
    }


SPY_BARS = [
    (D(2026, 4, 28), 711.12, 711.119995),
    (D(2026, 4, 29), 715.0, 714.999999),
    (D(2026, 4, 30), 718.66, 718.659973),
    (D(2026, 5, 1), 720.6500244140625, 720.650024),
]
NOT_FOUND = {"chart": {"result": None, "error": {"code": "Not Found", "description": "No data found"}}}


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeQuoteServer:
    """Serves scripted replies per symbol (the last reply repeats) and records every request."""

    def __init__(self) -> None:
        self.script: dict[str, deque[Reply]] = defaultdict(deque)
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                symbol = unquote(url.path.rsplit("/", 1)[-1])
                outer.requests.append((symbol, parse_qs(url.query)))
                queue = outer.script[symbol]
                reply = queue.popleft() if len(queue) > 1 else (queue[0] if queue else Reply(404, NOT_FOUND))
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def reply(self, symbol: str, *replies: Reply) -> None:
        self.script[symbol].extend(replies)


@pytest.fixture
def server() -> Iterator[FakeQuoteServer]:
    srv = FakeQuoteServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def make(server: FakeQuoteServer, clock: ManualClock, **kw: Any) -> HttpMarketDataProvider:
    kw.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0))
    return HttpMarketDataProvider(server.base_url, clock=clock, **kw)


def test_quote_over_http(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(body=chart("SPY", SPY_BARS)))
    clock = ManualClock()
    p = make(server, clock)
    assert isinstance(p, MarketDataProvider)
    q = p.quote("SPY", D(2026, 5, 1))
    assert (q.date, q.close, q.previous_close, q.change) == (
        D(2026, 5, 1),
        Decimal("720.6500"),
        Decimal("718.6600"),
        Decimal("1.9900"),
    )
    assert q.adjusted_close == Decimal("720.650024") and q.source == "http" and not q.stale
    symbol, params = server.requests[0]
    assert symbol == "SPY" and params["interval"] == ["1d"] and params["events"] == ["div"]
    # period1: 00:00 UTC of the session 10 sessions back; period2: 00:00 UTC the day after as_of
    assert params["period1"] == [str(int(dt.datetime(2026, 4, 17, tzinfo=dt.UTC).timestamp()))]
    assert params["period2"] == [str(int(dt.datetime(2026, 5, 2, tzinfo=dt.UTC).timestamp()))]
    assert clock.sleeps == []


def test_stale_when_the_api_lags(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(body=chart("SPY", SPY_BARS)))
    q = make(server, ManualClock()).quote("SPY", D(2026, 5, 6))
    assert (q.date, q.age_trading_days, q.stale) == (D(2026, 5, 1), 3, True)


def test_retries_5xx_with_exponential_backoff(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(503, {}), Reply(500, {}), Reply(502, {}), Reply(body=chart("SPY", SPY_BARS)))
    clock = ManualClock()
    p = make(server, clock, rate=1000, burst=10)
    assert p.quote("SPY", D(2026, 5, 1)).close == Decimal("720.6500")
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert len(server.requests) == 4


def test_gives_up_after_max_attempts(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(503, {}))
    clock = ManualClock()
    with pytest.raises(ProviderError, match=r"gave up after 4 attempts .*HTTP 503") as info:
        make(server, clock, rate=1000, burst=10).quote("SPY", D(2026, 5, 1))
    assert info.value.status == 503
    assert clock.sleeps == [0.5, 1.0, 2.0] and len(server.requests) == 4


def test_429_honours_retry_after(server: FakeQuoteServer) -> None:
    server.reply(
        "SPY",
        Reply(429, {}, {"Retry-After": "7"}),
        Reply(429, {}, {"Retry-After": "Fri, 01 May 2026 21:00:10 GMT"}),
        Reply(body=chart("SPY", SPY_BARS)),
    )
    clock = ManualClock(start=dt.datetime(2026, 5, 1, 21, 0, tzinfo=dt.UTC))
    make(server, clock, rate=1000, burst=10).quote("SPY", D(2026, 5, 1))
    # 7 s as asked; then the HTTP date is 10 s after the start and 7 s have passed: 3 s
    assert clock.sleeps == [7.0, pytest.approx(3.0)]


def test_persistent_429_is_rate_limited_error(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(429, {}, {"Retry-After": "600"}))
    clock = ManualClock()
    with pytest.raises(RateLimitedError, match="HTTP 429"):
        make(server, clock, rate=1000, burst=10).quote("SPY", D(2026, 5, 1))
    assert clock.sleeps == [60.0, 60.0, 60.0]  # capped at RetryPolicy.max_retry_after


def test_unknown_symbol_is_not_retried(server: FakeQuoteServer) -> None:
    with pytest.raises(UnknownSymbolError, match="'NOPE'"):
        make(server, ManualClock()).quote("NOPE", D(2026, 5, 1))
    assert len(server.requests) == 1


def test_other_4xx_and_bad_payloads_are_provider_errors(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(400, {"error": "bad"}))
    with pytest.raises(ProviderError, match="HTTP 400"):
        make(server, ManualClock()).quote("SPY", D(2026, 5, 1))
    server.reply("VTI", Reply(body={"chart": {"result": [{"indicators": {}}], "error": None}}))
    with pytest.raises(ProviderError, match="malformed chart payload"):
        make(server, ManualClock()).quote("VTI", D(2026, 5, 1))


def test_cache_hit_then_expiry(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(body=chart("SPY", SPY_BARS)))
    clock = ManualClock()
    p = make(server, clock, cache_ttl=60)
    p.quote("SPY", D(2026, 5, 1))
    p.quote("SPY", D(2026, 5, 1))
    assert len(server.requests) == 1 and p.cache.hits == 1
    clock.advance(61)
    p.quote("SPY", D(2026, 5, 1))
    assert len(server.requests) == 2


def test_token_bucket_spaces_requests(server: FakeQuoteServer) -> None:
    for s in ("SPY", "VTI", "BND", "AGG"):
        server.reply(s, Reply(body=chart(s, SPY_BARS)))
    clock = ManualClock()
    p = make(server, clock, rate=2.0, burst=2)
    p.quotes(["SPY", "VTI", "BND", "AGG"], D(2026, 5, 1))
    # a burst of two, then one request per 0.5 s
    assert clock.sleeps == [pytest.approx(0.5), pytest.approx(0.5)]
    assert clock.monotonic() == pytest.approx(1.0)


def test_timeout_is_a_clear_error(server: FakeQuoteServer) -> None:
    server.reply("SPY", Reply(body=chart("SPY", SPY_BARS), delay=0.6))
    clock = ManualClock()
    p = make(server, clock, timeout=0.1, retry=RetryPolicy(max_attempts=2, base_delay=0.25))
    with pytest.raises(ProviderTimeoutError, match=r"SPY: gave up after 2 attempts .*ReadTimeout"):
        p.quote("SPY", D(2026, 5, 1))
    assert clock.sleeps == [0.25]


def test_connection_refused_is_retried_then_timeout_error() -> None:
    clock = ManualClock()
    p = HttpMarketDataProvider("http://127.0.0.1:9", clock=clock, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ProviderTimeoutError, match="ConnectError"):
        p.history(["SPY"], D(2026, 4, 1), D(2026, 5, 1))
    assert clock.sleeps == [0.5, 1.0]


def test_history_and_index_through_mock_transport() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode().split("?")[0])
        symbol = unquote(request.url.path.rsplit("/", 1)[-1])
        if symbol == "^VIX":
            return httpx.Response(200, json=chart("^VIX", [(D(2020, 3, 16), 82.69, None)], adj=False))
        bars = [(d, c, a) for d, c, a in SPY_BARS if a is not None]
        return httpx.Response(200, json=chart(symbol, bars))

    client = httpx.Client(transport=httpx.MockTransport(handler))
    p = HttpMarketDataProvider("https://quotes.example", clock=ManualClock(), client=client)
    panel = p.history(["SPY", "VTI"], D(2026, 4, 28), D(2026, 5, 1))
    assert list(panel.columns) == ["SPY", "VTI"] and len(panel) == 4
    assert panel.loc["2026-05-01", "SPY"] == 720.650024
    vix = p.index_history("VIX", D(2020, 3, 16), D(2020, 3, 16))
    assert vix.iloc[0] == 82.69 and vix.name == "VIX"
    assert seen == ["/v8/finance/chart/SPY", "/v8/finance/chart/VTI", "/v8/finance/chart/%5EVIX"]
    assert p.last_date() == D(2026, 5, 1)
    with pytest.raises(UnknownSymbolError):
        p.index_history("DJI", D(2020, 1, 2), D(2020, 1, 3))


def test_parse_retry_after() -> None:
    now = dt.datetime(2026, 5, 1, 21, 0, tzinfo=dt.UTC)
    assert parse_retry_after("12", now) == 12.0
    assert parse_retry_after("Fri, 01 May 2026 21:01:00 GMT", now) == 60.0
    assert parse_retry_after("Fri, 01 May 2026 20:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
