"""What tracing costs: CPU of the services' process per dry run of ``demo`` with tracing off (the default:
no telemetry middleware) and on (FastStream's ``NatsTelemetryMiddleware`` on every broker, every span kept
by an in-memory exporter, so the exporter's own network cost is not counted), and the spans one run makes.

Every service runs in one process on a real nats-server (as ``bench runs``); each setting gets a fresh server
and system, a warm-up run, then ``RUNS`` concurrent dry runs.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.log import configure_logging
from shared.settings import Settings
from shared.telemetry import exporting_to
from shared.testing import NatsServer
from shared.testing.system import running_system

RUNS = 40


async def _cpu_per_run(url: str) -> float:
    async with running_system(Settings(nats_url=url, step_timeout_seconds=60)) as system:
        await system.wait_for_run(await system.request_run("demo", dry_run=True))  # warm up
        cpu = time.process_time()
        run_ids = [await system.request_run("demo", dry_run=True) for _ in range(RUNS)]
        await asyncio.gather(*(system.wait_for_run(r, timeout=300) for r in run_ids))
        return 1000 * (time.process_time() - cpu) / RUNS


def _measure(traced: bool) -> tuple[float, float]:
    exporter = InMemorySpanExporter()
    scope: Any = exporting_to(exporter) if traced else nullcontext()
    with scope, tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp)) as server:
        cpu = asyncio.run(_cpu_per_run(server.url))
    return cpu, len(exporter.get_finished_spans()) / (RUNS + 1)


def main() -> None:
    configure_logging("bench", level="WARNING")
    off, _ = _measure(traced=False)
    on, spans = _measure(traced=True)
    print(f"dry runs of demo: {RUNS} concurrent, every service in one process")
    print(f"  CPU per run, tracing off: {off:.1f} ms")
    print(f"  CPU per run, tracing on:  {on:.1f} ms ({on - off:+.1f} ms, {spans:.0f} spans per run)")


if __name__ == "__main__":
    main()
