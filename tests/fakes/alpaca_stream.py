"""The ``trade_updates`` websocket of the local Alpaca-like server (tests only).

Follows the documented exchange: ``{"action": "auth", "key", "secret"}`` answered on the
``authorization`` stream, ``{"action": "listen", "data": {"streams": ["trade_updates"]}}`` answered on the
``listening`` stream, then one binary JSON frame per order event (``new``, ``partial_fill``, ``fill``,
``canceled``) carrying the whole order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from tests.fakes.alpaca_server import AlpacaState

__all__ = ["trade_updates_server"]


@contextlib.asynccontextmanager
async def trade_updates_server(state: AlpacaState) -> AsyncIterator[str]:
    """Serve the stream on a random local port in the running loop; yields its ``ws://`` URL."""
    loop = asyncio.get_running_loop()
    clients: set[ServerConnection] = set()

    def feed(event: str, order: dict[str, Any]) -> None:  # called from the HTTP server's threads
        frame = json.dumps({"stream": "trade_updates", "data": {"event": event, "order": order}}).encode()
        for client in list(clients):
            state.pushed += 1
            asyncio.run_coroutine_threadsafe(client.send(frame), loop)

    async def session(socket: ServerConnection) -> None:
        auth = json.loads(await socket.recv())
        ok = auth.get("action") == "auth" and auth.get("key") == state.key_id and auth.get("secret") == state.secret
        status = "authorized" if ok else "unauthorized"
        await socket.send(json.dumps({"stream": "authorization", "data": {"action": "authenticate", "status": status}}))
        if not ok:
            return
        listen = json.loads(await socket.recv())
        streams = [s for s in listen.get("data", {}).get("streams", []) if s == "trade_updates"]
        await socket.send(json.dumps({"stream": "listening", "data": {"streams": streams}}))
        clients.add(socket)
        try:
            await socket.wait_closed()
        finally:
            clients.discard(socket)

    state.listeners.append(feed)
    async with serve(session, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}/stream"
        finally:
            state.listeners.remove(feed)
