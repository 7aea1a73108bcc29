"""``make run`` (``rebalance up``) with only a keys file set: the health check needs no key, and the demo
run uses ``REBALANCE_API_KEY`` when set (the header every client command sends), else it is skipped with a
message."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shared.testing import NatsServer

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(tmp_path: Path, nats: NatsServer, **env: str) -> subprocess.CompletedProcess[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    keys = tmp_path / "keys.json"
    digest = hashlib.sha256(b"demo-key").hexdigest()
    keys.write_text(json.dumps([{"tenant": "default", "keySha256": digest, "roles": ["read", "trade"]}]))
    clean = {
        k: v for k, v in os.environ.items() if k not in ("REBALANCE_API_KEY", "GATEWAY_API_KEY", "GATEWAY_API_KEYS")
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "up", "--exit", "--port", str(_free_port()), "--nats-url", nats.url,
         "--workdir", str(tmp_path / "var")],
        env={**clean, "GATEWAY_KEYS_FILE": str(keys), "STEP_TIMEOUT_SECONDS": "20", **env},
        capture_output=True, text=True, timeout=240, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip


def test_up_comes_up_with_only_a_keys_file_and_skips_the_demo_run_without_a_key(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats") as nats:
        skipped = _up(tmp_path / "a", nats)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "demo run skipped" in skipped.stdout and "REBALANCE_API_KEY" in skipped.stdout
    # the hints it prints to try the API present the key (by its variable, never its value)
    assert "curl -s -X POST" in skipped.stdout and '-H "authorization: Bearer $REBALANCE_API_KEY"' in skipped.stdout


def test_the_cli_sends_the_key_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.gateway_client import GatewayClient
    from cli.http_auth import api_headers

    monkeypatch.delenv("GATEWAY_API_KEY", raising=False)
    monkeypatch.setenv("REBALANCE_API_KEY", "demo-key")
    assert api_headers() == {"Authorization": "Bearer demo-key"}
    assert GatewayClient("http://127.0.0.1:1").http.headers["Authorization"] == "Bearer demo-key"
    monkeypatch.delenv("REBALANCE_API_KEY")
    assert api_headers() == {}
