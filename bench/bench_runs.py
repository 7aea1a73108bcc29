"""Throughput and latency of whole runs through every service on a real nats-server.

Services run in one process (one event loop, a connection each), so this measures the bus, the saga
and the domain work, not process scheduling. Prints latency percentiles of sequential dry runs of
``demo`` and the throughput of a batch of concurrent runs.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from shared.log import configure_logging
from shared.settings import Settings
from shared.testing import NatsServer
from shared.testing.system import running_system

SEQUENTIAL = 30
CONCURRENT = 60


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
        start = time.perf_counter()
        run_ids = [await system.request_run("demo", dry_run=True) for _ in range(CONCURRENT)]
        await asyncio.gather(*(system.wait_for_run(r, timeout=300, notified=False) for r in run_ids))
        elapsed = time.perf_counter() - start
        print(f"concurrent dry runs: {CONCURRENT} in {elapsed:.2f}s = {CONCURRENT / elapsed:.1f} runs/s (one process)")


def main() -> None:
    configure_logging("bench", level="WARNING")
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp)) as server:
        asyncio.run(_measure(server.url))


if __name__ == "__main__":
    main()
