"""Throughput of whole runs with every service in its own process (as ``make run`` starts them), with one
replica of each service, then with a second replica of the busiest ones sharing their durable consumers.

Runs are started on the bus (``rebalance.v1.requested``, as any client may) and counted as they finish
(a KV watch on the coordinator's ``runs`` bucket). On a 2-core machine the processes compete for the same
two cores, so replicas mostly show that scaling out is safe (every run completes once), not a speed-up.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

from cli.supervisor import Supervisor
from contracts import RebalanceRequest, RebalanceRequested, RunRecord, decode_as, encode, subjects

RUNS = 60
BUSY = ("analysis", "rebalancing", "tax", "coordinator")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drive(url: str, runs: int) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    bucket = await js.key_value(subjects.KV_RUNS)
    watcher = await bucket.watch("run.*")
    ids = {str(uuid.uuid4()) for _ in range(runs)}
    done: set[str] = set()
    start = time.perf_counter()
    for run_id in ids:
        message = RebalanceRequested(
            run_id=run_id, message_id=run_id, occurred_at=datetime.now(UTC),
            request=RebalanceRequest(account_id="demo", dry_run=True),
        )  # fmt: skip
        await js.publish(subjects.REBALANCE_REQUESTED, encode(message), headers={"Nats-Msg-Id": run_id})
    async with asyncio.timeout(600):
        async for entry in watcher:
            if entry is None or entry.value is None:
                continue
            record = decode_as(entry.value, RunRecord)
            if record.run_id in ids and record.status == "completed":
                done.add(record.run_id)
                if len(done) == len(ids):
                    break
    elapsed = time.perf_counter() - start
    await watcher.stop()
    await nc.close()
    return elapsed


def _measure(replicas: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Supervisor(Path(tmp), gateway_port=_free_port()) as supervisor:
        supervisor.start_all()
        for name in BUSY:
            for replica in range(1, replicas):
                supervisor.start_service(name, replica)
        supervisor.wait_healthy()
        httpx.post(f"{supervisor.gateway_url}/api/portfolio/rebalance", json={"accountId": "demo", "dryRun": True})
        asyncio.run(_drive(supervisor.nats_url, 2))  # warm: the date's market snapshot is built, caches filled
        elapsed = asyncio.run(_drive(supervisor.nats_url, RUNS))
        label = "one process per service" if replicas == 1 else f"{replicas} replicas of {', '.join(BUSY)}"
        print(f"{label:<60} {RUNS} dry runs in {elapsed:5.2f}s = {RUNS / elapsed:5.1f} runs/s")


def main() -> None:
    _measure(1)
    _measure(2)


if __name__ == "__main__":
    main()
