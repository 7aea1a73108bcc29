"""Alpaca's ``trade_updates`` stream: order events pushed over a websocket (``wss://…/stream``).

The client authenticates (``{"action": "auth", "key": …, "secret": …}``), listens to ``trade_updates``
and keeps the latest state of each order it hears of (events ``new``, ``partial_fill``, ``fill``,
``canceled``, ``expired``, ``rejected``, … each carrying the whole order). Frames may be binary (the
paper endpoint sends binary frames) or text; both are JSON. When the connection drops, followers fall back
to polling (:func:`services.execution.brokers.waiting.follow_to_end`) until it is opened again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from services.execution.brokers.orders import BrokerOrder
from shared.log import get_logger

__all__ = ["TradeUpdates", "stream_url_for"]

log = get_logger("execution.alpaca.stream")

_QUIET = logging.getLogger("execution.alpaca.websocket")
_QUIET.setLevel(logging.WARNING)  # websockets logs every frame at DEBUG, the auth frame (the secret) too


def stream_url_for(base_url: str) -> str:
    """``https://paper-api.alpaca.markets`` -> ``wss://paper-api.alpaca.markets/stream``."""
    url = base_url.rstrip("/")
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://") + "/stream"
    return "ws://" + url.removeprefix("http://") + "/stream"


class TradeUpdates:
    def __init__(self, url: str, key_id: str, secret_key: str, parse: Callable[[dict[str, Any]], BrokerOrder]) -> None:
        self.url = url
        self._key_id = key_id
        self._secret_key = secret_key
        self._parse = parse
        self.latest: dict[str, BrokerOrder] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.events = 0
        """Trade updates received (a figure for tests and metrics)."""

    async def start(self, timeout: float = 10.0) -> None:
        """Connect, authenticate and listen; raises when the stream refuses or cannot be reached."""
        socket = await connect(self.url, open_timeout=timeout, logger=_QUIET)
        try:
            await socket.send(json.dumps({"action": "auth", "key": self._key_id, "secret": self._secret_key}))
            reply = json.loads(await asyncio.wait_for(socket.recv(), timeout))
            if reply.get("data", {}).get("status") != "authorized":
                raise PermissionError(f"trade_updates: not authorized ({reply.get('data', {}).get('status')})")
            await socket.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
            await asyncio.wait_for(socket.recv(), timeout)  # {"stream": "listening", ...}
        except BaseException:
            await socket.close()
            raise
        self.connected = True
        self._task = asyncio.create_task(self._read(socket))

    async def _read(self, socket: ClientConnection) -> None:
        try:
            async for frame in socket:
                message = json.loads(frame)
                if message.get("stream") != "trade_updates":
                    continue
                order = self._parse(message["data"]["order"])
                self.events += 1
                async with self._changed:
                    self.latest[order.id] = order
                    self._changed.notify_all()
        except Exception as exc:  # a dropped stream: followers poll until it is back
            log.warning("trade_updates stream closed", error=type(exc).__name__)
        finally:
            self.connected = False
            await socket.close()

    async def next_update(self, order: BrokerOrder, timeout: float) -> BrokerOrder | None:
        """A newer state of ``order`` than the one given, waiting up to ``timeout`` seconds for it."""

        def newer() -> BrokerOrder | None:
            seen = self.latest.get(order.id)
            if seen is not None and (seen.status, seen.filled_qty) != (order.status, order.filled_qty):
                return seen
            return None

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: newer() is not None), timeout)
            return newer()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
