"""Command bundles against single commands: the CPU a service process and nats-server spend per command.

A service runs in its own process on a real nats-server. The same commands are sent ``ROUNDS`` times as
``CHUNK`` single commands (each pulled, acknowledged and answered with its own acknowledged publish) and as
one :class:`~contracts.bundles.CommandBundle` of ``CHUNK`` (one pull, one ack, one answer). Two handlers:
``echo`` (answers at once: the bus plumbing alone) and ``portfolio`` (the real portfolio service loading
the demo account: a real step). Prints CPU ms per command of the service and of the server, each way,
and the load average (figures on a shared machine are distorted by the load).

``python -m bench bundles``; ``BENCH_BUNDLE_CHUNK`` (25) and ``BENCH_BUNDLE_ROUNDS`` (40) change the sizes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats

from contracts import CommandBundle, LoadPortfolio, Notified, Notify, encode, subjects
from shared.bus.topology import durable_name
from shared.testing import NatsServer

CHUNK = int(os.environ.get("BENCH_BUNDLE_CHUNK", "25"))
ROUNDS = int(os.environ.get("BENCH_BUNDLE_ROUNDS", "40"))
AT = datetime(2026, 5, 1, tzinfo=UTC)
_TICKS = os.sysconf("SC_CLK_TCK")

MODES: dict[str, tuple[str, str, str, str]] = {
    # mode: (service, command subject, result subject, step)
    "echo": ("notifications", subjects.NOTIFICATIONS_NOTIFY, subjects.NOTIFICATIONS_NOTIFIED, "send-notifications"),
    "portfolio": ("portfolio", subjects.PORTFOLIO_LOAD, subjects.PORTFOLIO_LOADED, "load-portfolio"),
}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _command(mode: str, run_id: str) -> bytes:
    _, _, _, step = MODES[mode]
    if mode == "echo":
        return encode(
            Notify(run_id=run_id, message_id=f"{run_id}:{step}:1", occurred_at=AT, step=step, account_id="demo",
                   status="completed", message="m")
        )  # fmt: skip
    return encode(LoadPortfolio(run_id=run_id, message_id=f"{run_id}:{step}:1", occurred_at=AT, step=step,
                                account_id="demo"))  # fmt: skip


# ---- the service process -------------------------------------------------------------------------------
async def _serve(url: str, mode: str) -> None:
    from shared.bus.outgoing import Outgoing, result_envelope
    from shared.bus.runtime import ServiceRuntime
    from shared.log import configure_logging
    from shared.settings import Settings
    from shared.testing.system import build_service

    settings = Settings(nats_url=url, seed_demo=True, log_level="WARNING", webhook_url=None)
    configure_logging(mode, level="WARNING", json=True)
    if mode == "echo":
        runtime = ServiceRuntime("notifications", settings)

        async def echo(command: Notify) -> Sequence[Outgoing]:
            event = Notified(**result_envelope(command, AT), channels=[])
            return [Outgoing(subjects.NOTIFICATIONS_NOTIFIED, event, event.message_id)]

        runtime.command(subjects.NOTIFICATIONS_NOTIFY, Notify, echo)
    else:
        runtime = build_service("portfolio", settings)
    await runtime.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runtime.stop()


# ---- the driver ----------------------------------------------------------------------------------------
class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self.wanted = 0
        self.done = asyncio.Event()

    async def on(self, _: Any) -> None:
        self.count += 1
        if self.count >= self.wanted:
            self.done.set()

    def expect(self, n: int) -> None:
        self.count, self.wanted = 0, n
        self.done.clear()


async def _send(js: Any, subject: str, bodies: list[tuple[str, bytes]], counter: _Counter, wanted: int) -> None:
    counter.expect(wanted)
    await asyncio.gather(*(js.publish(subject, body, headers={"Nats-Msg-Id": mid}) for mid, body in bodies))
    await asyncio.wait_for(counter.done.wait(), timeout=float(os.environ.get("BENCH_BUNDLE_TIMEOUT", "300")))


def _bundle(mode: str, chunk_id: str) -> bytes:
    _, _, _, step = MODES[mode]
    commands = [msgspec.Raw(_command(mode, f"{chunk_id}-{i}")) for i in range(CHUNK)]
    return encode(CommandBundle(run_id=chunk_id, message_id=f"{chunk_id}:{step}:1", occurred_at=AT, step=step,
                                commands=commands))  # fmt: skip


async def _measure(server: NatsServer, mode: str) -> dict[str, float]:
    service, command_subject, result_subject, _ = MODES[mode]
    child = subprocess.Popen([sys.executable, "-m", "bench.bench_bundles", "--serve", server.url, mode])
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        singles, bundles = _Counter(), _Counter()
        await nc.subscribe(result_subject, cb=singles.on)
        await nc.subscribe(subjects.step_results(service), cb=bundles.on)
        async with asyncio.timeout(120):  # the service is up (and its book seeded) once it answers a command
            while True:
                try:
                    await js.consumer_info(subjects.STREAM_CMD, durable_name(command_subject))
                except Exception:
                    await asyncio.sleep(0.2)
                    continue
                singles.expect(1)
                await js.publish(command_subject, _command(mode, f"ready-{time.monotonic_ns()}"))
                try:
                    await asyncio.wait_for(singles.done.wait(), timeout=2)
                    break
                except TimeoutError:
                    continue
        await _send(js, command_subject, [(f"w-{i}", _command(mode, f"w-{i}")) for i in range(CHUNK)], singles, CHUNK)
        await _send(js, command_subject, [("wb", _bundle(mode, "wb"))], bundles, 1)
        pids = {"service": child.pid, "nats-server": server.process.pid}  # type: ignore[union-attr]
        out: dict[str, float] = {}
        for way in ("single", "bundle"):
            before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
            started = time.perf_counter()
            for r in range(ROUNDS):
                if way == "single":
                    bodies = [(f"s{r}-{i}", _command(mode, f"s{r}-{i}")) for i in range(CHUNK)]
                    await _send(js, command_subject, bodies, singles, CHUNK)
                else:
                    await _send(js, command_subject, [(f"b{r}", _bundle(mode, f"b{r}"))], bundles, 1)
            elapsed = time.perf_counter() - started
            commands = ROUNDS * CHUNK
            for name, pid in pids.items():
                out[f"{way} {name} ms/command"] = (_cpu_seconds(pid) - before[name]) * 1000 / commands
            out[f"{way} commands/s"] = commands / elapsed
        return out
    finally:
        await nc.close()
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)


def main() -> None:
    print(f"chunk {CHUNK}, rounds {ROUNDS}, load average {os.getloadavg()[0]:.1f} (2 cores shared: figures distorted)")
    for mode in MODES:
        with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp)) as server:
            result = asyncio.run(_measure(server, mode))
        print(f"-- {mode} handler")
        print(f"{'':<22}{'single':>10}{'bundle':>10}")
        for metric in ("service ms/command", "nats-server ms/command", "commands/s"):
            single, bundle = result[f"single {metric}"], result[f"bundle {metric}"]
            print(f"{metric:<22}{single:>10.3f}{bundle:>10.3f}")
        saved = result["single service ms/command"] - result["bundle service ms/command"]
        print(f"service CPU saved per command: {saved:.3f} ms")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        asyncio.run(_serve(sys.argv[2], sys.argv[3]))
    else:
        main()
