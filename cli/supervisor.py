"""The local supervisor behind ``make run``: a nats-server, every service as its own process, the gateway.

Also used by the end-to-end tests, which kill and restart single services.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from cli.gateway_client import auth_headers, configured_key
from cli.http_auth import gateway_needs_key
from shared.testing.nats_server import NatsServer
from shared.testing.system import SERVICE_NAMES

__all__ = ["SERVICES", "Supervisor"]

SERVICES = SERVICE_NAMES


def metrics_port(name: str, replica: int, env: dict[str, str]) -> int | None:
    """The Prometheus port of a service process: ``METRICS_PORT_BASE`` (default 9100) + 1 + the service's
    index in :data:`SERVICES` (portfolio 9101 … coordinator 9108), + 10 per replica; ``METRICS_PORT_BASE=0``
    serves none. A ``METRICS_PORT`` already in the environment wins."""
    if env.get("METRICS_PORT"):
        return int(env["METRICS_PORT"])
    base = int(env.get("METRICS_PORT_BASE", "9100"))
    if base == 0 or name not in SERVICES:
        return None
    return base + 1 + SERVICES.index(name) + 10 * replica


class Supervisor:
    """Start and stop the whole system on this machine; logs go to ``<workdir>/logs/<name>.log``."""

    def __init__(
        self,
        workdir: Path,
        *,
        nats_url: str | None = None,
        nats_port: int = -1,
        gateway_port: int = 8000,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.logs = self.workdir / "logs"
        self.external_nats = nats_url
        self.nats_port = nats_port
        self.gateway_port = gateway_port
        self.extra_env = env or {}
        self.nats: NatsServer | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def nats_url(self) -> str:
        if self.external_nats:
            return self.external_nats
        if self.nats is None:
            raise RuntimeError("nats-server is not started")
        return self.nats.url

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "NATS_URL": self.nats_url,
                "SERVICE_NAME": name,
                "GATEWAY_PORT": str(self.gateway_port),
                "GATEWAY_HOST": "127.0.0.1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start_nats(self) -> None:
        if self.external_nats:
            return
        self.nats = NatsServer(self.workdir / "nats", port=self.nats_port, log_file=self.logs / "nats-server.log")
        self.logs.mkdir(parents=True, exist_ok=True)
        self.nats.start()

    def start_service(self, name: str, replica: int = 0) -> subprocess.Popen[bytes]:
        """Start ``services.<name>``; replicas (``replica`` > 0) share the same durable consumers."""
        self.logs.mkdir(parents=True, exist_ok=True)
        key = name if replica == 0 else f"{name}-{replica}"
        log = (self.logs / f"{key}.log").open("ab")
        env = self.env(name)
        port = metrics_port(name, replica, env)
        if port is not None:
            env["METRICS_PORT"] = str(port)
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )
        log.close()
        self.processes[key] = process
        return process

    def stop_service(self, name: str, *, kill: bool = False, timeout: float = 15.0) -> int | None:
        """Stop one process: SIGTERM (clean) or SIGKILL (a crash); returns its exit code."""
        process = self.processes.pop(name, None)
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def start_all(self) -> None:
        self.start_nats()
        for name in SERVICES:
            self.start_service(name)
        self.start_service("gateway")

    def wait_healthy(self, timeout: float = 90.0) -> None:
        """Wait for the gateway's /health and for the demo data to be loaded (checked only when the API
        is open or ``REBALANCE_API_KEY`` holds a key: /health itself needs none)."""
        guarded = gateway_needs_key() or any(self.extra_env.get(k) for k in ("GATEWAY_KEYS_FILE", "GATEWAY_API_KEYS"))
        check_demo = not guarded or bool(configured_key({**os.environ, **self.extra_env}))
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}")
            try:
                health = httpx.get(f"{self.gateway_url}/health", timeout=2.0)
                if health.status_code == 200 and not check_demo:
                    return
                status = httpx.get(
                    f"{self.gateway_url}/api/portfolio/demo/status",
                    timeout=10.0,
                    headers=auth_headers({**os.environ, **self.extra_env}),
                )
                if health.status_code == 200 and status.status_code == 200:
                    return
                last = f"health {health.status_code}, demo status {status.status_code}: {status.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            time.sleep(0.25)
        raise TimeoutError(f"the system did not become healthy within {timeout}s ({last})")

    def last_errors(self, limit: int = 3) -> list[str]:
        """The last error lines of the services' logs (``service: event: error``), for the terminal."""
        found: list[str] = []
        for path in sorted(self.logs.glob("*.log")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if '"level": "error"' in line or '"level":"error"' in line or "Error:" in line:
                    found.append(f"{path.stem}: {line.strip()[:300]}")
        return found[-limit:]

    def stop_all(self) -> None:
        for name in ["gateway", *reversed(SERVICES)]:
            self.stop_service(name)
        for name in list(self.processes):
            self.stop_service(name)
        if self.nats is not None:
            self.nats.stop()
            self.nats = None

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()
