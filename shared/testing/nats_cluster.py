"""A 3-node nats-server cluster with JetStream on this machine, for tests and ``make chaos``.

Each node is a :class:`~shared.testing.nats_server.NatsServer` with its own store directory, a client port,
a route port and a monitoring port, all chosen free at construction and kept for the cluster's life, so a
node killed and restarted comes back at the URL its clients already list (``url``: every node, comma
separated, the way ``NATS_URL`` takes them). :meth:`NatsCluster.start` returns once every node is up and
the cluster has a JetStream meta leader; :meth:`NatsCluster.leader_of` names the node leading a stream's
replicas (a KV bucket is stream ``KV_<bucket>``), so a test can kill exactly that node.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from shared.testing.nats_server import NatsServer

__all__ = ["NatsCluster"]

CLUSTER_NAME = "rebalancer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NatsCluster:
    """``size`` nats-server processes with JetStream, routed to each other on 127.0.0.1."""

    def __init__(self, workdir: Path, *, size: int = 3, log_dir: Path | None = None) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self.workdir = Path(workdir)
        self.names = [f"n{i}" for i in range(1, size + 1)]
        self.client_ports = {name: _free_port() for name in self.names}
        self.route_ports = {name: _free_port() for name in self.names}
        self.monitor_ports = {name: _free_port() for name in self.names}
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in self.route_ports.values())
        logs = Path(log_dir) if log_dir is not None else self.workdir
        logs.mkdir(parents=True, exist_ok=True)
        self.nodes: dict[str, NatsServer] = {}
        for name in self.names:
            args = ["--server_name", name, "--cluster_name", CLUSTER_NAME, "--routes", routes]
            args += ["--cluster", f"nats://127.0.0.1:{self.route_ports[name]}", "-m", str(self.monitor_ports[name])]
            self.nodes[name] = NatsServer(
                self.workdir / name, port=self.client_ports[name], log_file=logs / f"nats-{name}.log", extra_args=args
            )

    # ---- addresses ---------------------------------------------------------------------------------
    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{self.client_ports[name]}" for name in self.names]

    @property
    def url(self) -> str:
        """Every node's client URL, comma separated (``NATS_URL``)."""
        return ",".join(self.urls)

    def running(self) -> list[str]:
        return [name for name, node in self.nodes.items() if node.process is not None]

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> NatsCluster:
        """Start every node; return once each answers healthy and the cluster has a meta leader."""
        try:
            for node in self.nodes.values():
                node.start()
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, name: str) -> None:
        """SIGKILL node ``name`` (a crash)."""
        self.nodes[name].kill()

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """Start a stopped node again at its ports and store; return once the cluster is ready again."""
        self.nodes[name].start()
        self.wait_ready(timeout)

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()

    # ---- state, from the monitoring endpoints ------------------------------------------------------
    def _monitor(self, name: str, path: str) -> dict[str, Any]:
        answer = httpx.get(f"http://127.0.0.1:{self.monitor_ports[name]}{path}", timeout=2.0)
        body = answer.json()
        return body if isinstance(body, dict) else {}

    def meta_leader(self) -> str | None:
        """The running node leading the JetStream meta group, as running nodes see it (None: no leader now,
        or only a killed node is still named: its followers have not yet noticed)."""
        running = self.running()
        for name in running:
            try:
                leader = (self._monitor(name, "/jsz").get("meta_cluster") or {}).get("leader")
            except (httpx.HTTPError, ValueError):
                continue
            if leader in running:
                return str(leader)
        return None

    def leader_of(self, stream: str) -> str | None:
        """The node leading stream ``stream``'s replicas (None when no running node reports one)."""
        for name in self.running():
            try:
                jsz = self._monitor(name, "/jsz?accounts=true&streams=true")
            except (httpx.HTTPError, ValueError):
                continue
            for account in jsz.get("account_details") or []:
                for detail in account.get("stream_detail") or []:
                    if detail.get("name") == stream:
                        leader = (detail.get("cluster") or {}).get("leader")
                        if leader in self.running():
                            return str(leader)
        return None

    def _healthy(self, name: str) -> bool:
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.monitor_ports[name]}/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until every running node is healthy (``/healthz``: every stream and consumer replica it holds is
        current) and a meta leader is elected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, node in self.nodes.items():
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"nats-server {name} exited; see {node.log_file}")
            if all(self._healthy(name) for name in self.running()) and self.meta_leader():
                return
            time.sleep(0.05)
        raise TimeoutError(f"the cluster had no healthy meta leader within {timeout}s")

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
