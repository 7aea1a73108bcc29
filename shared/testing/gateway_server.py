"""The HTTP gateway served by uvicorn on a free local port, in a thread (tests of HTTP clients: the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from shared.settings import Settings

__all__ = ["serve_gateway"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_gateway(settings: Settings, timeout: float = 20.0) -> Iterator[str]:
    """Yield the gateway's base URL once it is serving; stop it on exit."""
    from services.gateway.app import create_app  # the gateway is a service: imported only by its user

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:  # uvicorn sets it once the lifespan has run and the socket listens
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
