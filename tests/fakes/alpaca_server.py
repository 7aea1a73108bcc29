"""A local Alpaca-like Trading API v2 server for tests (no network; the real API is never called).

It follows the documented behaviour the adapter relies on:

* ``POST /v2/orders`` (``symbol``, ``qty``, ``side``, ``type``, ``time_in_force``, ``limit_price``,
  ``client_order_id``): a duplicate ``client_order_id`` is refused with 422
  ``{"code": 40010001, "message": "client_order_id must be unique"}``; too little cash or shares with 403
  ``{"code": 40310000, "message": "insufficient buying power"}`` / ``insufficient qty available ...``;
  fractional quantities outside DAY market orders, or on an account without fractional trading, with 422.
* Order statuses ``new`` → ``partially_filled`` → ``filled`` / ``canceled`` / ``rejected``;
  ``GET /v2/orders/{id}``, ``GET /v2/orders:by_client_order_id``, ``DELETE /v2/orders/{id}`` (204, or 422
  when no longer cancelable).
* ``GET /v2/clock``, ``GET /v2/calendar``, ``GET /v2/account``, ``GET /v2/positions``.
* Regulatory fees on sells, as Alpaca charges them: an account activity of type ``FEE`` per fill of a
  sell (``REG FEE``: ``sec_fee_rate`` of the notional; ``TAF FEE``: ``taf_per_share`` a share), each
  rounded up to the cent and taken from the cash, with the order's id; ``GET /v2/account/activities/FEE``
  (and ``GET /v2/account/activities?activity_types=FEE``), filtered by ``order_id`` and ``date``.
* 429 ``{"code": 42910000, "message": "rate limit exceeded"}`` with ``Retry-After``, and slow answers that
  outlast the client's timeout, both scripted per test (:meth:`AlpacaState.fail_next`).

Deterministic: fills happen at the configured price of the symbol, in the configured proportion,
and ids count up. Scripted per test through :class:`AlpacaState`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

__all__ = ["AlpacaState", "Behaviour", "alpaca_server"]

KEY_ID = "PKTEST000000000000"
SECRET = "s3cr3t-paper-key-never-logged-0123456789"


@dataclass
class Behaviour:
    """How the server treats orders of one symbol."""

    fill_ratio: Decimal = Decimal(1)
    """The part of the quantity filled at once; the rest stays open (``partially_filled``) until canceled."""
    reject: tuple[int, int, str] | None = None
    """(HTTP status, code, message) answered to every new order of the symbol."""
    commission: Decimal = Decimal(0)


@dataclass
class Fault:
    kind: str  # "429", "500" or "slow"
    method: str
    path: str
    delay: float = 0.0


@dataclass
class AlpacaState:
    key_id: str = KEY_ID
    secret: str = SECRET
    """The credentials this account answers to (401 to any other)."""
    id_prefix: str = "00000000-0000-4000-8000-"
    """Order ids are this and a counter (another prefix tells two accounts' orders apart)."""
    prices: dict[str, Decimal] = field(default_factory=dict)
    cash: Decimal = Decimal(0)
    positions: dict[str, Decimal] = field(default_factory=dict)
    fractional: bool = True
    is_open: bool = True
    now: datetime = field(default_factory=lambda: datetime(2026, 5, 1, 14, 0, tzinfo=UTC))
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_client_id: dict[str, str] = field(default_factory=dict)
    posts: list[str] = field(default_factory=list)
    """client_order_id of every POST /v2/orders received (duplicates included)."""
    requests: list[str] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    listeners: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)
    """Called with (event, order) on every order change: the ``trade_updates`` stream's feed."""
    pushed: int = 0
    """Trade updates sent to stream clients."""
    sec_fee_rate: Decimal = Decimal(0)
    """The SEC fee on a sell's notional (``0.0000278`` is $27.80 per million)."""
    taf_per_share: Decimal = Decimal(0)
    """FINRA's trading activity fee per share sold (``0.000166``)."""
    activities: list[dict[str, Any]] = field(default_factory=list)
    """Non-trade account activities (``FEE``), oldest first."""

    def charge_fees(self, order: dict[str, Any], qty: Decimal, price: Decimal) -> None:
        """The regulatory fees of a sell's fill of ``qty`` at ``price``: FEE activities, cash taken."""
        if order["side"] != "sell" or qty <= 0:
            return
        for description, amount in (
            ("REG FEE", qty * price * self.sec_fee_rate),
            ("TAF FEE", qty * self.taf_per_share),
        ):
            fee = amount.quantize(Decimal("0.01"), rounding=ROUND_UP)
            if fee <= 0:
                continue
            self.cash -= fee
            self.activities.append(
                {
                    "id": f"{self.now.strftime('%Y%m%d%H%M%S')}000::{len(self.activities) + 1:08d}",
                    "activity_type": "FEE",
                    "date": self.now.date().isoformat(),
                    "net_amount": _dec(-fee),
                    "description": description,
                    "symbol": order["symbol"],
                    "qty": _dec(qty),
                    "per_share_amount": None,
                    "order_id": order["id"],
                    "status": "executed",
                }
            )

    def fees_of(self, order_id: str) -> Decimal:
        """The fees charged for ``order_id`` (positive)."""
        return -sum((Decimal(a["net_amount"]) for a in self.activities if a["order_id"] == order_id), Decimal(0))

    def emit(self, event: str, order: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(event, dict(order))

    def complete(self, order_id: str) -> None:
        """Fill the rest of an open order at the symbol's price (a fill the client learns of by stream or
        by polling)."""
        with self.lock:
            order = self.orders[order_id]
            qty, done = Decimal(order["qty"]), Decimal(order["filled_qty"])
            price = self.prices[order["symbol"]]
            rest = qty - done
            signed = rest if order["side"] == "buy" else -rest
            self.positions[order["symbol"]] = self.positions.get(order["symbol"], Decimal(0)) + signed
            self.cash += -(rest * price) if order["side"] == "buy" else rest * price
            self.charge_fees(order, rest, price)
            order.update(
                filled_qty=_dec(qty), filled_avg_price=str(price), status="filled", filled_at=self.now.isoformat()
            )
            self.emit("fill", order)

    def fail_next(
        self, kind: str, method: str = "POST", path: str = "/v2/orders", *, times: int = 1, delay: float = 0.0
    ) -> None:
        """The next ``times`` requests matching ``method`` and ``path`` prefix get ``kind``: ``"429"``,
        ``"500"``, or ``"slow"`` (handled, then answered after ``delay`` seconds)."""
        with self.lock:
            self.faults.extend(Fault(kind, method, path, delay) for _ in range(times))

    def behave(self, symbol: str, **kwargs: Any) -> None:
        self.behaviours[symbol] = Behaviour(**kwargs)

    def orders_of(self, client_order_id: str) -> int:
        """How many orders exist for ``client_order_id`` (1 at most, however often it was posted)."""
        return sum(1 for o in self.orders.values() if o["client_order_id"] == client_order_id)


def _dec(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


class _Handler(BaseHTTPRequestHandler):
    state: AlpacaState

    # ---- plumbing ---------------------------------------------------------------------------------
    def _reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, code: int, message: str) -> None:
        self._reply(status, {"code": code, "message": message})

    def _fault(self, method: str, path: str) -> Fault | None:
        with self.state.lock:
            for i, fault in enumerate(self.state.faults):
                if fault.method == method and path.startswith(fault.path):
                    return self.state.faults.pop(i)
        return None

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        self.state.requests.append(f"{method} {url.path}")
        if (
            self.headers.get("APCA-API-KEY-ID") != self.state.key_id
            or self.headers.get("APCA-API-SECRET-KEY") != self.state.secret
        ):
            self._error(401, 40110000, "request is not authorized")
            return
        fault = self._fault(method, url.path)
        if fault is not None and fault.kind == "429":
            self._reply(429, {"code": 42910000, "message": "rate limit exceeded"}, {"Retry-After": "0"})
            return
        if fault is not None and fault.kind == "500":
            self._error(500, 50010000, "internal server error")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        with self.state.lock:
            status, answer = self._route(method, url.path, parse_qs(url.query), body)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)  # the effect happened; the client gives up before the answer
        with suppress(BrokenPipeError, ConnectionResetError):
            self._reply(status, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        return

    # ---- API --------------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        s = self.state
        if method == "GET" and path == "/v2/clock":
            next_open = (s.now + timedelta(days=1)).replace(hour=13, minute=30)
            return 200, {
                "timestamp": s.now.isoformat(),
                "is_open": s.is_open,
                "next_open": next_open.isoformat(),
                "next_close": s.now.replace(hour=20, minute=0).isoformat(),
            }
        if method == "GET" and path == "/v2/calendar":
            start = date.fromisoformat(query["start"][0])
            end = date.fromisoformat(query["end"][0])
            days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
            return 200, [{"date": d.isoformat(), "open": "09:30", "close": "16:00"} for d in days if d.weekday() < 5]
        if method == "GET" and path == "/v2/account":
            return 200, {
                "id": "acct-0001",
                "account_number": "PA0001",
                "status": "ACTIVE",
                "currency": "USD",
                "cash": _dec(s.cash),
                "buying_power": _dec(s.cash),
            }
        if method == "GET" and path == "/v2/positions":
            return 200, [
                {"symbol": sym, "qty": _dec(q), "side": "long", "qty_available": _dec(q)}
                for sym, q in sorted(s.positions.items())
                if q != 0
            ]
        if method == "GET" and path.startswith("/v2/account/activities"):
            kinds = path.removeprefix("/v2/account/activities").strip("/") or ",".join(query.get("activity_types", []))
            if kinds and set(kinds.split(",")) - {"FEE", "FILL"}:
                return 422, {"code": 40010001, "message": f"invalid activity type: {kinds}"}
            found = [a for a in s.activities if not kinds or a["activity_type"] in kinds.split(",")]
            if "order_id" in query:
                found = [a for a in found if a["order_id"] == query["order_id"][0]]
            if "date" in query:
                found = [a for a in found if a["date"] == query["date"][0]]
            return 200, found
        if method == "POST" and path == "/v2/orders":
            return self._new_order(body or {})
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            order_id = s.by_client_id.get(query.get("client_order_id", [""])[0])
            if order_id is None:
                return 404, {"code": 40410000, "message": "order not found"}
            return 200, s.orders[order_id]
        if path.startswith("/v2/orders/"):
            order = s.orders.get(path.rsplit("/", 1)[-1])
            if order is None:
                return 404, {"code": 40410000, "message": "order not found"}
            if method == "GET":
                return 200, order
            if method == "DELETE":
                if order["status"] in ("filled", "canceled", "expired", "rejected"):
                    return 422, {"code": 42210000, "message": "order is not cancelable"}
                order["status"] = "canceled"
                order["canceled_at"] = s.now.isoformat()
                s.emit("canceled", order)
                return 204, None
        return 404, {"code": 40400000, "message": "endpoint not found"}

    def _new_order(self, body: dict[str, Any]) -> tuple[int, Any]:
        s = self.state
        cid = str(body.get("client_order_id") or f"auto-{len(s.orders) + 1}")
        s.posts.append(cid)
        if cid in s.by_client_id:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        symbol, side = str(body.get("symbol", "")), body.get("side")
        try:
            qty = Decimal(str(body.get("qty")))
        except InvalidOperation:
            return 422, {"code": 40010001, "message": "qty must be a number"}
        if side not in ("buy", "sell") or qty <= 0:
            return 422, {"code": 40010001, "message": "invalid order: side and a positive qty are required"}
        whole = qty == qty.to_integral_value()
        if not whole and (not s.fractional or body.get("type") != "market" or body.get("time_in_force") != "day"):
            return 422, {"code": 40010001, "message": "fractional orders must be DAY market orders"}
        behaviour = s.behaviours.get(symbol, Behaviour())
        if behaviour.reject is not None:
            status, code, message = behaviour.reject
            return status, {"code": code, "message": message}
        price = s.prices.get(symbol)
        if price is None:
            return 422, {"code": 40010001, "message": f"asset {symbol} not found"}
        if side == "sell" and qty > s.positions.get(symbol, Decimal(0)):
            held = s.positions.get(symbol, Decimal(0))
            return 403, {
                "code": 40310000,
                "message": f"insufficient qty available for order (requested: {_dec(qty)}, available: {_dec(held)})",
            }
        if side == "buy" and qty * price > s.cash:
            return 403, {"code": 40310000, "message": "insufficient buying power"}
        filled = qty * behaviour.fill_ratio
        filled = filled.quantize(Decimal(1) if whole else Decimal("0.000000001"), rounding=ROUND_DOWN)
        order_id = f"{s.id_prefix}{len(s.orders) + 1:012d}"
        order = {
            "id": order_id,
            "client_order_id": cid,
            "created_at": s.now.isoformat(),
            "submitted_at": s.now.isoformat(),
            "filled_at": s.now.isoformat() if filled == qty else None,
            "symbol": symbol,
            "asset_class": "us_equity",
            "qty": _dec(qty),
            "filled_qty": _dec(filled),
            "filled_avg_price": str(price) if filled > 0 else None,
            "order_class": "",
            "order_type": body.get("type"),
            "type": body.get("type"),
            "side": side,
            "time_in_force": body.get("time_in_force"),
            "limit_price": body.get("limit_price"),
            "status": "filled" if filled == qty else ("partially_filled" if filled > 0 else "new"),
            "commission": _dec(behaviour.commission if filled > 0 else Decimal(0)),
        }
        s.orders[order_id] = order
        s.by_client_id[cid] = order_id
        signed = filled if side == "buy" else -filled
        s.positions[symbol] = s.positions.get(symbol, Decimal(0)) + signed
        s.cash += -(filled * price) if side == "buy" else filled * price
        s.cash -= behaviour.commission if filled > 0 else Decimal(0)
        s.charge_fees(order, filled, price)
        s.emit({"filled": "fill", "partially_filled": "partial_fill"}.get(order["status"], "new"), order)
        return 200, order


@contextmanager
def alpaca_server(state: AlpacaState | None = None) -> Iterator[tuple[str, AlpacaState]]:
    """Serve the fake API on a random local port; yields its base URL and its state."""
    state = state or AlpacaState()

    class Handler(_Handler):
        pass

    Handler.state = state
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
