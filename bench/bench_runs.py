"""Throughput and latency of whole runs through every service on a real nats-server.

Services run in one process (one event loop, a connection each), so this measures the bus, the saga
and the domain work, not process scheduling. Prints latency percentiles of sequential dry runs of
``demo`` and the throughput of a batch of concurrent runs, the CPU time of the (single) Python process per
run, then what a finished run leaves and costs on the bus: the KV bytes it keeps (buckets ``runs`` and
``steps``) and the messages JetStream stored for it (every acknowledged publish, KV writes included).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from contracts import subjects
from shared.log import configure_logging
from shared.settings import Settings
from shared.testing import NatsServer
from shared.testing.system import InProcessSystem, running_system

SEQUENTIAL = 30
CONCURRENT = 60
RETAINED = 20


async def _stored(system: InProcessSystem) -> tuple[int, int]:
    """(messages JetStream has stored so far in every stream, bytes now held by KV runs and steps)."""
    js = system.client.jetstream()
    messages = kept = 0
    for info in await js.streams_info():
        messages += int(info.state.last_seq)
        if info.config.name in (f"KV_{subjects.KV_RUNS}", f"KV_{subjects.KV_STEPS}"):
            kept += int(info.state.bytes)
    return messages, kept


async def _measure(url: str) -> None:
    settings = Settings(nats_url=url, step_timeout_seconds=60)
    async with running_system(settings) as system:
        await system.wait_for_run(await system.request_run("demo", dry_run=True))  # warm up
        latencies = []
        for _ in range(SEQUENTIAL):
            start = time.perf_counter()
            await system.wait_for_run(await system.request_run("demo", dry_run=True), notified=False)
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"sequential dry runs of demo: {SEQUENTIAL}")
        print(f"  latency ms: median {statistics.median(latencies):.1f}  p95 {p95:.1f}  max {latencies[-1]:.1f}")
        start, cpu = time.perf_counter(), time.process_time()
        run_ids = [await system.request_run("demo", dry_run=True) for _ in range(CONCURRENT)]
        await asyncio.gather(*(system.wait_for_run(r, timeout=300, notified=False) for r in run_ids))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"concurrent dry runs: {CONCURRENT} in {elapsed:.2f}s = {CONCURRENT / elapsed:.1f} runs/s (one process)")
        print(f"  CPU of the services' process: {1000 * cpu / CONCURRENT:.1f} ms per run (nats-server not included)")
        await asyncio.gather(*(system.wait_for_run(r, timeout=300) for r in run_ids))  # notifications done too
        messages, kept = await _stored(system)
        for _ in range(RETAINED):
            await system.wait_for_run(await system.request_run("demo", dry_run=True))
        after_messages, after_kept = await _stored(system)
        print(
            f"per finished run: {(after_kept - kept) / RETAINED / 1024:.1f} KB kept in KV runs + steps, "
            f"{(after_messages - messages) / RETAINED:.1f} messages stored by JetStream (acknowledged publishes)"
        )


def main() -> None:
    configure_logging("bench", level="WARNING")
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp)) as server:
        asyncio.run(_measure(server.url))


if __name__ == "__main__":
    main()
