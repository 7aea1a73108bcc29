"""Routes between cluster nodes are mutual TLS: two nodes of deploy/nats/cluster (n1, n2) on this machine,
with a CA the test generates, form their route and carry messages from one to the other; a node whose
certificate comes from another CA is refused as a route peer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from shared.testing.nats_server import nats_server_binary
from shared.testing.tls import Pki, make_pki
from tests.unit.deploy.nats_fixture import NATS_DIR, dev_env, password, tls_env

pytestmark = pytest.mark.timeout(90)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _node(workdir: Path, n: int, route_ports: dict[int, int], pki: Pki) -> Iterator[dict[str, str]]:
    """Node ``n`` from cluster/n<n>.conf, its cluster port and routes moved to 127.0.0.1."""
    text = (NATS_DIR / "cluster" / f"n{n}.conf").read_text()
    text = text.replace(f'store_dir: "/data/jetstream/n{n}"', f'store_dir: "{workdir / f"js{n}"}"')
    text = text.replace("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{route_ports[n]}")
    routes = "\n".join(f"    nats://127.0.0.1:{port}" for port in route_ports.values())
    start, end = text.index("routes: [") + len("routes: ["), text.index("  ]", text.index("routes: ["))
    text = text[:start] + "\n" + routes + "\n" + text[end:]
    (workdir / "cluster").mkdir(parents=True, exist_ok=True)
    (workdir / "accounts.conf").write_text((NATS_DIR / "accounts.conf").read_text())
    config = workdir / "cluster" / f"n{n}.conf"
    config.write_text(text)
    ports = workdir / f"ports{n}"
    ports.mkdir()
    args = [nats_server_binary(), "-c", str(config), "-a", "127.0.0.1", "-p", "-1", "-m", "-1"]
    args += ["--ports_file_dir", str(ports), "-l", str(workdir / f"n{n}.log")]
    process = subprocess.Popen(args, env={**os.environ, **dev_env(), **tls_env(pki)})
    try:
        deadline = time.monotonic() + 15
        found: dict[str, str] = {}
        while not found:
            assert process.poll() is None, (workdir / f"n{n}.log").read_text()
            assert time.monotonic() < deadline, "no ports file"
            for file in ports.glob("*.ports"):
                with contextlib.suppress(json.JSONDecodeError, KeyError, IndexError):
                    data = json.loads(file.read_text())
                    found = {"client": data["nats"][0], "monitor": data["monitoring"][0]}
            time.sleep(0.05)
        yield found
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _peers(monitor: str) -> set[str]:
    """The nodes this node has a route to (a pool of several connections per peer counts once)."""
    routes = httpx.get(f"{monitor}/routez", timeout=2).json().get("routes") or []
    return {str(r.get("remote_name") or r["remote_id"]) for r in routes}


def _wait_peers(monitor: str, at_least: int, seconds: float) -> set[str]:
    deadline = time.monotonic() + seconds
    peers = _peers(monitor)
    while len(peers) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)
        peers = _peers(monitor)
    return peers


async def _across(a: str, b: str, ca: Path) -> bytes:
    context = ssl.create_default_context(cafile=str(ca))
    first = await nats.connect(a, user="provisioner", password=password("provisioner"), tls=context)
    second = await nats.connect(b, user="provisioner", password=password("provisioner"), tls=context)
    try:
        sub = await first.subscribe("tls.route.check")
        await first.flush()
        await asyncio.sleep(0.2)  # the subscription's interest crosses the route
        await second.publish("tls.route.check", b"over the route")
        await second.flush()
        message = await sub.next_msg(timeout=5)
        return bytes(message.data)
    finally:
        await first.close()
        await second.close()


def test_routes_are_mutual_tls_with_the_deployment_ca(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "tls")
    stranger = make_pki(tmp_path / "other-ca")
    ports = {1: _free_port(), 2: _free_port()}
    with _node(tmp_path / "a", 1, ports, pki) as n1, _node(tmp_path / "b", 2, ports, pki) as n2:
        assert _wait_peers(n1["monitor"], 1, 20) == {"n2"}
        assert asyncio.run(_across(n1["client"], n2["client"], pki.ca)) == b"over the route"
        # a third node with another CA's certificate cannot join: n1 still has its one route to n2
        ports3 = {1: ports[1], 3: _free_port()}
        with _node(tmp_path / "c", 3, ports3, stranger) as n3:
            time.sleep(2)
            assert _peers(n3["monitor"]) == set()
            assert _peers(n1["monitor"]) == {"n2"} and _peers(n2["monitor"]) == {"n1"}
