"""A real nats-server running ``deploy/nats/single.conf`` (with its users, and TLS with a CA generated for
the test) on a random port."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.testing.nats_server import nats_server_binary
from shared.testing.tls import Pki, make_pki

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
NATS_DIR = DEPLOY / "nats"
STORE_LINE = 'store_dir: "/data/jetstream"'


def dev_env() -> dict[str, str]:
    """The development passwords of ``deploy/nats/dev.env`` (``NAME=value`` lines)."""
    env: dict[str, str] = {}
    for line in (NATS_DIR / "dev.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def password(user: str) -> str:
    return dev_env()[f"NATS_{user.upper()}_PASSWORD"]


def tls_env(pki: Pki) -> dict[str, str]:
    """The server's TLS variables of the deploy configs, pointing at ``pki``."""
    return {
        "NATS_SERVER_TLS_CERT": str(pki.server_cert),
        "NATS_SERVER_TLS_KEY": str(pki.server_key),
        "NATS_SERVER_TLS_CA": str(pki.ca),
    }


@dataclass
class RunningNats:
    url: str
    log: Path
    pki: Pki

    def violations(self) -> list[str]:
        """The server's permission-violation log lines so far."""
        return [line for line in self.log.read_text().splitlines() if "Violation" in line]


def config_test(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``nats-server -c <config> -t``: parse and validate the configuration, then exit."""
    return subprocess.run(
        [nats_server_binary(), "-c", str(config), "-t"], env=env, capture_output=True, text=True, timeout=20
    )


def start_single(workdir: Path) -> Iterator[RunningNats]:
    """Run single.conf on 127.0.0.1 with random client and monitoring ports and a temporary store.

    ``-sd`` cannot override a ``store_dir`` set in the file (the server reports a duplicate), so the
    config is copied with only its store line changed; accounts.conf is used as is.
    """
    text = (NATS_DIR / "single.conf").read_text()
    assert text.count(STORE_LINE) == 1
    (workdir / "accounts.conf").write_text((NATS_DIR / "accounts.conf").read_text())
    config = workdir / "single.conf"
    config.write_text(text.replace(STORE_LINE, f'store_dir: "{workdir / "js"}"'))
    ports = workdir / "ports"
    ports.mkdir()
    log = workdir / "nats.log"
    args = [nats_server_binary(), "-c", str(config), "-a", "127.0.0.1", "-p", "-1", "-m", "-1"]
    args += ["--ports_file_dir", str(ports), "-l", str(log)]
    pki = make_pki(workdir / "tls")
    process = subprocess.Popen(args, env={**os.environ, **dev_env(), **tls_env(pki)})
    try:
        deadline = time.monotonic() + 10
        url = None
        while url is None:
            assert process.poll() is None, f"nats-server exited: {log.read_text() if log.exists() else ''}"
            assert time.monotonic() < deadline, "nats-server did not report its ports"
            for file in ports.glob("*.ports"):
                with contextlib.suppress(json.JSONDecodeError, KeyError, IndexError):
                    url = json.loads(file.read_text())["nats"][0]
            time.sleep(0.02)
        yield RunningNats(url=url, log=log, pki=pki)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
