"""A book through every step as one dry batch, every service in its own process (as ``make run``).

``BENCH_BOOK_ACCOUNTS`` (default 1000) deterministic, realistic accounts (``shared.testing.book``: households
of one to four, lots bought over the years at the shipped closes, gains and losses) are loaded from a book
file; one ``POST /api/rebalance/batch`` rebalances them all (dry run, tax-aware optimizer). Printed, as a table
and as JSON (``BENCH_BOOK_JSON`` names a file to write it to as well):

* accounts/s of the batch, and p50/p95/p99 of each account's latency (its run's start to its report);
* CPU ms per account of each service process and of nats-server (``/proc/<pid>/stat``);
* KV bytes retained per finished run (every KV bucket's stream, before and after);
* single dry runs' p50/p99 while a second batch runs at about half the first one's rate (its window: half
  the rate times an idle run's latency, by Little's law);
* the raw nats-py ceiling for the same message pattern, per chunk (the batch's ``releaseStep``) of accounts: as many
  round trips as the batch sent commands (publish a command to a work-queue stream, consume it in another
  process, publish an event, consume it, next), then as many acknowledged publishes as the batch made beyond
  those (public events and KV writes), with the batch's average sizes; and the ratio of the system's rate
  to it.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

from cli.supervisor import Supervisor
from contracts import (
    BatchRecord,
    RebalanceRequest,
    RebalanceRequested,
    RunRecord,
    batch_run_id,
    decode_as,
    encode,
    subjects,
)
from shared.paths import DEMO_HOUSEHOLD_FILE
from shared.testing.book import generate_book

ACCOUNTS = int(os.environ.get("BENCH_BOOK_ACCOUNTS", "1000"))
IN_FLIGHT = int(os.environ.get("BENCH_BOOK_IN_FLIGHT", "0"))
"""The batch's ``maxInFlight``; 0: the deployment's default (three chunks of ``BATCH_CHUNK_SIZE`` for a dry batch)."""
SINGLE_RUNS = 20
_TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _pids(supervisor: Supervisor) -> dict[str, int]:
    pids = {name: process.pid for name, process in supervisor.processes.items()}
    if supervisor.nats is not None and supervisor.nats.process is not None:
        pids["nats-server"] = supervisor.nats.process.pid
    return pids


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _kv_bytes(js: Any) -> int:
    total = 0
    for name in await js.streams_info():
        if name.config.name.startswith(("KV_", "OBJ_")):
            total += name.state.bytes
    return total


async def _stream_counts(js: Any) -> dict[str, tuple[int, int]]:
    """Messages and bytes ever stored in CMD and EVT (their last sequence and current bytes), and the
    writes ever made to every KV bucket (``KV``: the sum of their last sequences)."""
    out = {}
    for name in (subjects.STREAM_CMD, subjects.STREAM_EVT):
        info = await js.stream_info(name)
        out[name] = (info.state.last_seq, info.state.bytes)
    kv = [info for info in await js.streams_info() if info.config.name.startswith("KV_")]
    out["KV"] = (sum(info.state.last_seq for info in kv), 0)
    return out


async def _wait_batch(js: Any, batch_id: str, timeout: float = 1800) -> BatchRecord:
    bucket = await js.key_value(subjects.KV_BATCHES)
    watcher = await bucket.watch(f"batch.{batch_id}")
    try:
        async with asyncio.timeout(timeout):
            async for entry in watcher:
                if entry is None or entry.value is None:
                    continue
                record = decode_as(entry.value, BatchRecord)
                if record.status == "completed":
                    return record
    finally:
        await watcher.stop()
    raise TimeoutError(batch_id)


async def _run_latencies(js: Any, run_ids: list[str]) -> list[float]:
    bucket = await js.key_value(subjects.KV_RUNS)
    out = []
    for run_id in run_ids:
        entry = await bucket.get(f"run.{run_id}")
        record = decode_as(entry.value, RunRecord)
        report = record.step("generate-report")
        if record.status == "completed" and report.finished_at is not None:
            out.append((report.finished_at - record.created_at).total_seconds() * 1000)
    return out


async def _single_run(js: Any, bucket: Any) -> float:
    run_id = str(uuid.uuid4())
    watcher = await bucket.watch(f"run.{run_id}")
    message = RebalanceRequested(
        run_id=run_id, message_id=run_id, occurred_at=datetime.now(UTC),
        request=RebalanceRequest(account_id="demo", dry_run=True),
    )  # fmt: skip
    start = time.perf_counter()
    await js.publish(subjects.REBALANCE_REQUESTED, encode(message), headers={"Nats-Msg-Id": run_id})
    try:
        async with asyncio.timeout(120):
            async for entry in watcher:
                if entry is not None and entry.value and decode_as(entry.value, RunRecord).status == "completed":
                    return (time.perf_counter() - start) * 1000
    finally:
        await watcher.stop()
    raise TimeoutError(run_id)


def _start_batch(gateway: str, accounts: list[str], in_flight: int) -> str:
    body: dict[str, Any] = {"accountIds": accounts, "dryRun": True}
    if in_flight > 0:
        body["maxInFlight"] = in_flight
    response = httpx.post(f"{gateway}/api/rebalance/batch", json=body, timeout=60)
    response.raise_for_status()
    return str(response.json()["batchId"])


async def _measure(supervisor: Supervisor, accounts: list[str]) -> dict[str, Any]:
    nc = await nats.connect(supervisor.nats_url)
    js = nc.jetstream()
    runs = await js.key_value(subjects.KV_RUNS)
    for _ in range(3):  # warm every service's caches
        await _single_run(js, runs)
    idle = [await _single_run(js, runs) for _ in range(SINGLE_RUNS)]

    pids = _pids(supervisor)
    cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    kv_before = await _kv_bytes(js)
    streams_before = await _stream_counts(js)
    command_bytes = [0]

    async def count(message: Any) -> None:
        command_bytes[0] += len(message.data)

    commands = await nc.subscribe("*.v1.cmd.>", cb=count)  # the sizes of the commands (CMD keeps none)
    start = time.perf_counter()
    batch_id = await asyncio.to_thread(_start_batch, supervisor.gateway_url, accounts, IN_FLIGHT)
    record = await _wait_batch(js, batch_id)
    elapsed = time.perf_counter() - start
    cpu_after = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    await commands.unsubscribe()
    kv_after = await _kv_bytes(js)
    streams_after = await _stream_counts(js)
    latencies = await _run_latencies(js, [batch_run_id(batch_id, a) for a in accounts])
    rate = len(accounts) / elapsed
    cmd_msgs = streams_after["CMD"][0] - streams_before["CMD"][0]
    evt_msgs = streams_after["EVT"][0] - streams_before["EVT"][0]
    evt_bytes = streams_after["EVT"][1] - streams_before["EVT"][1]

    # Single runs while a second batch runs at about half the rate. By Little's law a batch keeps rate x
    # latency runs under way, so the first try's window is half the measured rate times the batch's own
    # median latency per account; a batch under less load goes faster than that, so while it runs above 55%
    # of the full rate its window is scaled down and it is run again (at most three tries; each is reported).
    half = accounts  # the whole book again: more single runs sampled while it runs
    half_window = max(1, round(rate / 2 * statistics.median(latencies) / 1000))
    tries: list[dict[str, float]] = []
    for _ in range(3):
        second = await asyncio.to_thread(_start_batch, supervisor.gateway_url, half, half_window)
        start2 = time.perf_counter()
        loaded: list[float] = []
        waiter = asyncio.create_task(_wait_batch(js, second))
        while not waiter.done() and len(loaded) < 200:
            loaded.append(await _single_run(js, runs))
        await waiter
        half_rate = len(half) / (time.perf_counter() - start2)
        tries.append({"window": half_window, "accounts_per_second": round(half_rate, 1)})
        if half_rate <= 0.55 * rate or half_window == 1:
            break
        half_window = max(1, round(half_window * 0.5 * rate / half_rate))
    await nc.close()
    return {
        "accounts": len(accounts),
        "completed": record.count("c"),
        "failed": record.count("f"),
        "max_in_flight": record.max_in_flight,
        "chunk_size": record.release_step,
        "seconds": round(elapsed, 2),
        "accounts_per_second": round(rate, 1),
        "latency_ms": {q: round(_percentile(latencies, v), 1) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "cpu_ms_per_account": {
            name: round((cpu_after[name] - cpu_before[name]) * 1000 / len(accounts), 2) for name in sorted(pids)
        },
        "kv_bytes_per_run": round((kv_after - kv_before) / len(accounts)),
        "messages_per_account": {
            "commands": round(cmd_msgs / len(accounts), 2),
            "events": round(evt_msgs / len(accounts), 2),
            "kv_writes": round((streams_after["KV"][0] - streams_before["KV"][0]) / len(accounts), 2),
        },
        "command_bytes_per_account": round(command_bytes[0] / len(accounts)),
        "event_bytes_per_account": round(evt_bytes / len(accounts)),
        "single_run_idle_ms": {"p50": round(statistics.median(idle), 1), "p99": round(_percentile(idle, 0.99), 1)},
        "single_run_under_half_load_ms": {
            "runs": len(loaded),
            "batch_max_in_flight": half_window,
            "tries": tries,
            "batch_accounts_per_second": round(half_rate, 1),
            "p50": round(statistics.median(loaded), 1) if loaded else None,
            "p99": round(_percentile(loaded, 0.99), 1) if loaded else None,
        },
    }


# ---- the raw nats-py ceiling ---------------------------------------------------------------------------
RAW_CMD, RAW_EVT, RAW_KV = "RAWCMD", "RAWEVT", "RAWKV"


def _raw_worker(url: str, total: int, event_size: int) -> None:
    """The services' side: consume a command, publish its event (awaiting the ack), ack the command."""

    async def work() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        sub = await js.pull_subscribe("rawcmd.>", durable="raw-worker", stream=RAW_CMD)
        payload = b"x" * event_size
        done = 0
        while done < total:
            try:
                messages = await sub.fetch(50, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            for message in messages:
                run, step = message.subject.split(".")[1:3]
                await js.publish(f"rawevt.{run}.{step}", payload, headers={"Nats-Msg-Id": f"{run}:{step}:e"})
                await message.ack()
                done += 1
        await nc.close()

    asyncio.run(work())


async def _raw_ceiling(url: str, pattern: dict[str, Any], accounts: int, window: int) -> float:
    """Accounts/s of plain nats-py doing the batch's message pattern with no work: per unit of ``unit``
    accounts (a chunk), ``trips`` round trips in turn (a command of ``command_size`` bytes to a work queue,
    consumed by another process, which publishes an event of ``event_size`` bytes and acks; the event
    consumed here), then ``extra`` acknowledged publishes of ``extra_size`` bytes (the per-run records and
    public events); ``window`` accounts under way."""
    unit, trips = pattern["unit"], pattern["trips"]
    units = max(1, accounts // unit)
    nc = await nats.connect(url)
    js = nc.jetstream()
    for name, subject, retention in (
        (RAW_CMD, "rawcmd.>", RetentionPolicy.WORK_QUEUE),
        (RAW_EVT, "rawevt.>", RetentionPolicy.LIMITS),
        (RAW_KV, "rawkv.>", RetentionPolicy.LIMITS),
    ):
        await js.add_stream(StreamConfig(name=name, subjects=[subject], retention=retention, storage=StorageType.FILE))
    await js.add_consumer(
        RAW_CMD, ConsumerConfig(durable_name="raw-worker", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1000)
    )
    await js.add_consumer(
        RAW_EVT, ConsumerConfig(durable_name="raw-coord", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1000)
    )
    worker = multiprocessing.get_context("spawn").Process(
        target=_raw_worker, args=(url, units * trips, pattern["event_size"]), daemon=True
    )
    worker.start()
    payload = b"y" * pattern["command_size"]
    extra = b"z" * pattern["extra_size"]
    sub = await js.pull_subscribe("rawevt.>", durable="raw-coord", stream=RAW_EVT)

    async def command(run: int, step: int) -> None:
        await js.publish(f"rawcmd.{run}.{step}", payload, headers={"Nats-Msg-Id": f"{run}:{step}:c"})

    async def records(run: int) -> None:
        await asyncio.gather(*(js.publish(f"rawkv.{run}.{i}", extra) for i in range(pattern["extra"])))

    start = time.perf_counter()
    released = min(max(1, window // unit), units)
    await asyncio.gather(*(command(run, 0) for run in range(released)))
    finished = 0
    while finished < units:
        try:
            messages = await sub.fetch(50, timeout=5.0)
        except nats.errors.TimeoutError:
            continue
        for message in messages:
            run, step = (int(x) for x in message.subject.split(".")[1:3])
            if step + 1 < trips:
                await command(run, step + 1)
            else:
                await records(run)
                finished += 1
                if released < units:
                    await command(released, 0)
                    released += 1
            await message.ack()
    elapsed = time.perf_counter() - start
    worker.join(timeout=30)
    await nc.close()
    return units * unit / elapsed


def _pattern(result: dict[str, Any], unit: int) -> dict[str, Any]:
    """The batch's measured messages, per unit of ``unit`` accounts: the round trips (commands) with their
    average sizes, and the rest of what the coordinator publishes (events beyond the answers, KV writes)."""
    per = result["messages_per_account"]
    trips = max(1, round(per["commands"] * unit))
    answers = trips / unit  # events per account that answer a command
    extra = max(0, round((per["events"] - answers + per["kv_writes"]) * unit))
    return {
        "unit": unit,
        "trips": trips,
        "command_size": max(1, round(result["command_bytes_per_account"] * unit / trips)),
        "event_size": max(1, round(result["event_bytes_per_account"] * unit / (trips + extra))),
        "extra": extra,
        "extra_size": max(1, round(result["event_bytes_per_account"] * unit / (trips + extra))),
    }


# ---- output --------------------------------------------------------------------------------------------
def _print(result: dict[str, Any]) -> None:
    lat = result["latency_ms"]
    print(f"book: {result['accounts']} accounts, dry batch in chunks of {result['chunk_size']}, "
          f"max {result['max_in_flight']} in flight: "
          f"{result['completed']} completed, {result['failed']} failed in {result['seconds']} s")  # fmt: skip
    rows = [
        ("accounts/s", f"{result['accounts_per_second']}", ">= 300"),
        ("per-account latency p50/p95/p99 ms", f"{lat['p50']} / {lat['p95']} / {lat['p99']}", ""),
        ("raw nats-py ceiling, accounts/s", f"{result['raw_accounts_per_second']}", ""),
        ("ratio system / raw", f"{result['ratio']}", ">= 0.5"),
        ("KV bytes retained per finished run", f"{result['kv_bytes_per_run']}", "<= 10240"),
        (
            "single run idle p50/p99 ms",
            f"{result['single_run_idle_ms']['p50']} / {result['single_run_idle_ms']['p99']}",
            "",
        ),
    ]
    under = result["single_run_under_half_load_ms"]
    rows.append(
        (
            f"single run p50/p99 ms, batch at {under['batch_accounts_per_second']}/s",
            f"{under['p50']} / {under['p99']}",
            "p99 <= 250",
        )
    )
    for name, value in result["cpu_ms_per_account"].items():
        rows.append((f"CPU ms per account: {name}", f"{value}", ""))
    rows.append(("CPU ms per account: total", f"{round(sum(result['cpu_ms_per_account'].values()), 2)}", ""))
    width = max(len(r[0]) for r in rows)
    for label, value, target in rows:
        print(f"  {label:<{width}}  {value:>22}  {target}")
    print(json.dumps(result, indent=2))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        book = generate_book(ACCOUNTS)
        accounts = [a["account_id"] for h in book["households"] for a in h["accounts"]]
        book["households"].append(json.loads(DEMO_HOUSEHOLD_FILE.read_text(encoding="utf-8")))
        path = Path(tmp) / "book.json"
        path.write_text(json.dumps(book), encoding="utf-8")
        env = {"HOUSEHOLD_FILE": str(path), "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING")}
        with Supervisor(Path(tmp), gateway_port=_free_port(), env=env) as supervisor:
            supervisor.start_all()
            supervisor.wait_healthy(timeout=300)
            result = asyncio.run(_measure(supervisor, accounts))
            pattern = _pattern(result, result["chunk_size"])
            raw = asyncio.run(_raw_ceiling(supervisor.nats_url, pattern, ACCOUNTS, result["max_in_flight"]))
        result["raw_pattern"] = pattern
        result["raw_accounts_per_second"] = round(raw, 1)
        result["ratio"] = round(result["accounts_per_second"] / raw, 3)
        result["load_average"] = os.getloadavg()
    _print(result)
    if os.environ.get("BENCH_BOOK_JSON"):
        Path(os.environ["BENCH_BOOK_JSON"]).write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
