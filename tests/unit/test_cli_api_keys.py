"""``make run`` with GATEWAY_API_KEYS: the supervisor's health check and the demo run present a key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli.gateway_client import auth_headers, configured_key
from cli.supervisor import Supervisor


class _Gateway(BaseHTTPRequestHandler):
    """/health is open; /api/... wants ``Bearer k1``."""

    def do_GET(self) -> None:
        if self.path.startswith("/api/") and self.headers.get("Authorization") != "Bearer k1":
            self.send_response(401)
        else:
            self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def _gateway() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


def test_the_key_comes_from_gateway_api_key_else_the_first_configured() -> None:
    assert configured_key({"GATEWAY_API_KEYS": " k1 , k2"}) == "k1"
    assert configured_key({"GATEWAY_API_KEY": "mine", "GATEWAY_API_KEYS": "k1"}) == "mine"
    assert auth_headers({}) == {}


def test_health_check_presents_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_API_KEY", raising=False)
    with _gateway() as port:
        keyed = Supervisor(tmp_path, gateway_port=port, env={"GATEWAY_API_KEYS": "k1,k2"})
        keyed.wait_healthy(timeout=10)  # returns: the demo status answered 200 with the key
        keyless = Supervisor(tmp_path, gateway_port=port, env={"GATEWAY_API_KEYS": ""})
        monkeypatch.delenv("GATEWAY_API_KEYS", raising=False)
        with pytest.raises(TimeoutError, match="demo status 401"):
            keyless.wait_healthy(timeout=1)
