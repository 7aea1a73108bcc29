"""The Alpaca Trading API v2 adapter (httpx; the REST endpoints of https://docs.alpaca.markets).

* Orders: ``POST /v2/orders`` with ``client_order_id``; a duplicate id is refused by Alpaca (422), and
  the adapter then fetches the order already placed (``GET /v2/orders:by_client_order_id``), so a retry
  never places a second order. After a timeout the adapter looks the order up before sending it again.
* 403/422 on an order is a rejection (buying power, a short sale, a non-fractionable asset…): returned
  as an order with ``status="rejected"`` and Alpaca's ``message``.
* 429 and 5xx are retried with back-off: ``Retry-After`` or ``X-RateLimit-Reset`` when given, else
  exponential from ``backoff_seconds``, at most ``max_retries`` times.
* Fills are followed by the ``trade_updates`` stream once :meth:`AlpacaBroker.listen` opened it, and by
  polling ``GET /v2/orders/{id}`` whenever the stream is silent or closed
  (:mod:`services.execution.brokers.waiting`).
* Fees: an order's ``commission`` plus its ``FEE`` account activities (regulatory fees on sells), read
  once the order is done (:meth:`AlpacaBroker.with_fees`): the ledger records what Alpaca charged.
* Credentials go in the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers and are never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Literal, cast

import httpx

from services.execution.brokers.alpaca_stream import TradeUpdates, stream_url_for
from services.execution.brokers.base import BrokerAuthError, BrokerError
from services.execution.brokers.orders import BrokerBook, BrokerOrder, MarketClock, OrderRequest
from shared.log import get_logger

__all__ = ["DUPLICATE_CLIENT_ORDER_ID", "AlpacaBroker"]

log = get_logger("execution.alpaca")

DUPLICATE_CLIENT_ORDER_ID = 40010001
"""Alpaca's error code for a ``client_order_id`` already used (HTTP 422)."""

Sleep = Callable[[float], Awaitable[None]]


def _decimal(value: object, default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise BrokerError(f"alpaca: not a number: {value!r}") from None


def _instant(value: object) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _order(body: Mapping[str, Any]) -> BrokerOrder:
    side = body.get("side")
    if side not in ("buy", "sell"):
        raise BrokerError(f"alpaca: order without a side: {body.get('id')!r}")
    return BrokerOrder(
        id=str(body["id"]),
        client_order_id=str(body.get("client_order_id", "")),
        symbol=str(body["symbol"]),
        side=cast(Literal["buy", "sell"], side),
        qty=_decimal(body.get("qty"), Decimal(0)) or Decimal(0),
        status=str(body.get("status", "new")),
        filled_qty=_decimal(body.get("filled_qty"), Decimal(0)) or Decimal(0),
        filled_avg_price=_decimal(body.get("filled_avg_price")),
        commission=_decimal(body.get("commission"), Decimal(0)) or Decimal(0),
        filled_at=_instant(body.get("filled_at")),
    )


def _error_message(response: httpx.Response) -> tuple[int | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.text.strip() or response.reason_phrase
    if isinstance(body, dict):
        code = body.get("code")
        return (int(code) if isinstance(code, int) else None), str(body.get("message", body))
    return None, str(body)


class AlpacaBroker:
    name = "alpaca"

    def __init__(
        self,
        *,
        base_url: str,
        key_id: str,
        secret_key: str,
        stream_url: str | None = None,
        timeout_seconds: float = 10.0,
        max_retries: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key},
            timeout=timeout_seconds,
            transport=transport,
        )
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._sleep = sleep
        self._credentials = (key_id, secret_key)
        self._stream: TradeUpdates | None = None
        self.stream_url = stream_url
        """The ``trade_updates`` websocket (default: the base URL's ``/stream``)."""
        self.retries = 0
        """How many requests were tried again (rate limits, timeouts, 5xx): a figure for tests and metrics."""

    # ---- transport -----------------------------------------------------------------------------
    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("Retry-After")
            if after:
                try:
                    return min(float(after), self.max_backoff_seconds)
                except ValueError:
                    when = parsedate_to_datetime(after)
                    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), self.max_backoff_seconds)
            reset = response.headers.get("X-RateLimit-Reset")
            if reset and reset.isdigit():
                wait = int(reset) - datetime.now(UTC).timestamp()
                if wait > 0:
                    return min(wait, self.max_backoff_seconds)
        return min(self.backoff_seconds * 2**attempt, self.max_backoff_seconds)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on 429, 5xx and transport errors (timeouts) with back-off.

        Only for requests that are safe to repeat; order submission handles its own retries."""
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            try:
                response = await self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}"
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                reason = f"HTTP {response.status_code}"
            if attempt == self.max_retries:
                raise BrokerError(f"alpaca {method} {path}: {reason} after {attempt + 1} tries")
            self.retries += 1
            delay = self._delay(attempt, response)
            log.warning("alpaca request retried", method=method, path=path, reason=reason, delay=delay)
            await self._sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _check(response: httpx.Response, what: str) -> Any:
        if response.status_code in (401, 403):
            _, message = _error_message(response)
            raise BrokerAuthError(f"alpaca {what}: HTTP {response.status_code}: {message}")
        if response.status_code >= 400:
            _, message = _error_message(response)
            raise BrokerError(f"alpaca {what}: HTTP {response.status_code}: {message}")
        return response.json() if response.content else None

    # ---- orders --------------------------------------------------------------------------------
    def _order_body(self, order: OrderRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "qty": str(order.qty),
            "side": order.side,
            "type": order.type,
            "time_in_force": order.time_in_force,
            "client_order_id": order.client_order_id,
        }
        if order.type == "limit":
            if order.limit_price is None:
                raise ValueError(f"limit order {order.client_order_id} without a limit price")
            body["limit_price"] = str(order.limit_price)
        return body

    async def submit(self, order: OrderRequest) -> BrokerOrder:
        body = self._order_body(order)
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            try:
                response = await self._client.post("/v2/orders", json=body)
            except httpx.TransportError as exc:
                # The order may have reached Alpaca: look it up before sending it again.
                log.warning("alpaca order submission failed; looking it up", error=type(exc).__name__)
                placed = await self.order(order.client_order_id)
                if placed is not None:
                    return placed
            else:
                status = response.status_code
                if status in (200, 201):
                    return _order(response.json())
                if status in (403, 422):
                    code, message = _error_message(response)
                    if code == DUPLICATE_CLIENT_ORDER_ID or "client_order_id must be unique" in message:
                        placed = await self.order(order.client_order_id)
                        if placed is not None:
                            return placed
                    if status == 403 and message.lower() in ("forbidden", "unauthorized"):
                        raise BrokerAuthError(f"alpaca orders: HTTP 403: {message}")
                    return BrokerOrder(
                        id="",
                        client_order_id=order.client_order_id,
                        symbol=order.symbol,
                        side=order.side,
                        qty=order.qty,
                        status="rejected",
                        reason=f"{message} (HTTP {status}" + (f", code {code})" if code else ")"),
                    )
                if status == 401:
                    self._check(response, "orders")
                if status != 429 and status < 500:
                    _, message = _error_message(response)
                    raise BrokerError(f"alpaca orders: HTTP {status}: {message}")
            if attempt == self.max_retries:
                raise BrokerError(f"alpaca orders: {order.client_order_id} not placed after {attempt + 1} tries")
            self.retries += 1
            await self._sleep(self._delay(attempt, response))
        raise AssertionError("unreachable")

    async def order(self, client_order_id: str) -> BrokerOrder | None:
        response = await self._send("GET", "/v2/orders:by_client_order_id", params={"client_order_id": client_order_id})
        if response.status_code == 404:
            return None
        return _order(self._check(response, "order by client id"))

    async def refresh(self, order: BrokerOrder) -> BrokerOrder:
        response = await self._send("GET", f"/v2/orders/{order.id}")
        return _order(self._check(response, "order"))

    @property
    def streaming(self) -> bool:
        return self._stream is not None and self._stream.connected

    async def next_update(self, order: BrokerOrder, timeout: float) -> BrokerOrder | None:
        """From the ``trade_updates`` stream when it is open (:meth:`listen`); else ``None`` (poll)."""
        if self._stream is None or not self._stream.connected:
            return None
        return await self._stream.next_update(order, timeout)

    async def listen(self, stream_url: str | None = None) -> bool:
        """Open the ``trade_updates`` stream; ``False`` (and polling) when it cannot be opened."""
        url = stream_url or self.stream_url or stream_url_for(str(self._client.base_url))
        stream = TradeUpdates(url, *self._credentials, _order)
        try:
            await stream.start()
        except Exception as exc:  # polling still follows every order
            log.warning("trade_updates stream not opened; polling", error=type(exc).__name__)
            return False
        self._stream = stream
        return True

    async def with_fees(self, order: BrokerOrder) -> BrokerOrder:
        """The order's commission plus its FEE account activities (regulatory fees on sells: ``REG FEE``,
        ``TAF FEE``), asked with ``GET /v2/account/activities/FEE?order_id=...`` and kept only when they
        name the order."""
        if not order.id:
            return order
        params = {"order_id": order.id, "direction": "asc", "page_size": "100"}
        if order.filled_at is not None:
            params["date"] = order.filled_at.date().isoformat()
        body = self._check(await self._send("GET", "/v2/account/activities/FEE", params=params), "fee activities")
        fees = Decimal(0)
        for activity in body or []:
            if activity.get("order_id") != order.id or activity.get("status", "executed") == "canceled":
                continue
            fees += -(_decimal(activity.get("net_amount"), Decimal(0)) or Decimal(0))
        if fees == 0:
            return order
        log.info("broker fees of an order", order=order.id, fees=str(fees))
        return replace(order, commission=order.commission + fees)

    async def cancel(self, order: BrokerOrder) -> BrokerOrder:
        if order.id and not order.terminal:
            response = await self._send("DELETE", f"/v2/orders/{order.id}")
            if response.status_code not in (200, 204, 422):  # 422: no longer cancelable (filled meanwhile)
                self._check(response, "cancel")
            return await self.refresh(order)
        return order

    # ---- market --------------------------------------------------------------------------------
    async def clock(self) -> MarketClock:
        body = self._check(await self._send("GET", "/v2/clock"), "clock")
        return MarketClock(
            timestamp=_instant(body["timestamp"]) or datetime.now(UTC),
            is_open=bool(body["is_open"]),
            next_open=_instant(body.get("next_open")),
            next_close=_instant(body.get("next_close")),
        )

    async def trading_days(self, start: date, end: date) -> list[date]:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        body = self._check(await self._send("GET", "/v2/calendar", params=params), "calendar")
        return [date.fromisoformat(day["date"]) for day in body]

    async def book(self) -> BrokerBook | None:
        account = self._check(await self._send("GET", "/v2/account"), "account")
        positions = self._check(await self._send("GET", "/v2/positions"), "positions")
        held = {str(p["symbol"]): _decimal(p["qty"], Decimal(0)) or Decimal(0) for p in positions}
        return BrokerBook(positions=held, cash=_decimal(account.get("cash"), Decimal(0)) or Decimal(0))

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()
        await self._client.aclose()
