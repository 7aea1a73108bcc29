"""``make chaos``: live (non-dry) runs while every service and nats-server are SIGKILLed in turn, then
while the nodes of a 3-node JetStream cluster are.

Two phases, each on a fresh system started as ``make run`` starts it (every service its own process;
cli.supervisor), with a household of ``CHAOS_ACCOUNTS`` taxable accounts (copies of the demo account).
Each round starts one live run per account over the bus (``rebalance.v1.requested``), the risk model
flipping between rounds so every round trades, and SIGKILLs one victim while the runs are in flight:

* **single server** (one nats-server with JetStream on disk, ``CHAOS_ROUNDS`` rounds): the next process of
  the rotation portfolio, market_data, analysis, tax, rebalancing, execution, notifications, coordinator,
  nats-server, restarted a second later;
* **3-node cluster** (:class:`shared.testing.nats_cluster.NatsCluster`, ``STREAM_REPLICAS=3``, services
  given the three URLs; ``CHAOS_CLUSTER_ROUNDS`` rounds): the node that is the JetStream meta leader, then
  the one leading stream ``CMD``, then the one leading KV ``runs``, restarted once half of the round's runs
  have finished without it (or after 30 s).

Then each phase checks, from the stores themselves:

* every run finished (``completed`` or ``failed``; ``lost`` when not finished by the round's deadline);
* no order was executed twice (``trade.v1.executed`` once per order; a ledger applies a run once);
* every ledger reconciles to the cent: cash and shares per symbol equal the initial account plus the
  fills of the runs it applied;
* no account lock and no ``active.*`` marker is left behind.

Each phase prints its figures; the last line adds them up: ``chaos: N runs, C completed, L lost,
D duplicate orders, X ledger differences, S stuck locks``; the exit status is 1 on any loss, duplicate,
difference or stuck lock in either phase. Settings: ``CHAOS_ACCOUNTS`` (default 20), ``CHAOS_ROUNDS``
(default 9: each process killed once; 0 skips the phase), ``CHAOS_CLUSTER_ROUNDS`` (default 6: each
leader role twice; 0 skips), ``CHAOS_ROUND_SECONDS`` (deadline of a round, default 180), ``CHAOS_DIR``
(default ``var/chaos``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import astuple, dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

import nats
from nats.aio.client import Client
from nats.js.api import DeliverPolicy

from cli.supervisor import Supervisor
from contracts import (
    ExecutionResult,
    RebalanceRequest,
    RebalanceRequested,
    RunRecord,
    decode,
    encode,
    run_key,
    subjects,
)
from contracts.messages import TradeExecuted
from shared.bus import kv as kvops
from shared.clock import SystemClock
from shared.money import settle
from shared.paths import DEMO_HOUSEHOLD_FILE
from shared.testing.nats_cluster import NatsCluster
from shared.testing.nats_server import NatsServer

__all__ = ["main"]

T = TypeVar("T")

VICTIMS = (
    "portfolio",
    "market_data",
    "analysis",
    "tax",
    "rebalancing",
    "execution",
    "notifications",
    "coordinator",
    "nats-server",
)
TERMINAL = ("completed", "failed", "cancelled")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _household(accounts: int, path: Path) -> list[str]:
    demo = json.loads(DEMO_HOUSEHOLD_FILE.read_text())
    template = next(a for a in demo["accounts"] if a["account_id"] == "demo")
    copies = []
    for n in range(1, accounts + 1):
        account = json.loads(json.dumps(template))
        account["account_id"] = f"chaos-{n:03d}"
        for lot in account["lots"]:
            lot["lot_id"] = f"{account['account_id']}-{lot['lot_id']}"
        copies.append(account)
    demo["household_id"] = "chaos-household"
    demo["accounts"] = copies
    path.write_text(json.dumps(demo, indent=1))
    return [a["account_id"] for a in copies]


async def _publish(nc: Client, subject: str, body: bytes, msg_id: str) -> None:
    """Publish with the stream's ack, retrying while nats-server is down (the same Nats-Msg-Id)."""
    js = nc.jetstream(timeout=5)
    for _ in range(120):
        try:
            await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
            return
        except Exception:  # down or reconnecting: try again
            await asyncio.sleep(0.5)
    raise RuntimeError(f"could not publish {subject} {msg_id}")


async def _records(nc: Client, run_ids: list[str]) -> dict[str, RunRecord | None]:
    bucket = await nc.jetstream(timeout=5).key_value(subjects.KV_RUNS)
    found: dict[str, RunRecord | None] = {}
    for run_id in run_ids:
        found[run_id], _ = await kvops.read(bucket, run_key(run_id), RunRecord)
    return found


async def _keys(nc: Client, bucket_name: str, prefix: str) -> list[str]:
    bucket = await nc.jetstream(timeout=5).key_value(bucket_name)
    return await kvops.keys_matching(bucket, f"{prefix}.>")


def _finished(record: RunRecord | None) -> bool:
    if record is None or record.status not in TERMINAL:
        return False
    return record.step("send-notifications").status not in ("running", "retrying", "pending")


async def _wait_round(nc: Client, run_ids: list[str], deadline: float) -> None:
    """Until every run is finished and its lock released, or the deadline (then the rest are lost)."""
    while time.monotonic() < deadline:
        try:
            records = await _records(nc, run_ids)
            locks = await _keys(nc, subjects.KV_RUNS, "lock")
        except Exception:  # nats-server restarting
            await asyncio.sleep(0.5)
            continue
        if all(_finished(r) for r in records.values()) and not locks:
            return
        await asyncio.sleep(0.5)


async def _executed_orders(nc: Client) -> Counter[str]:
    """How many times each order id was published on ``trade.v1.executed`` (stream EVT)."""
    js = nc.jetstream(timeout=10)
    info = await js.stream_info(subjects.STREAM_EVT, subjects_filter=subjects.TRADE_EXECUTED)
    stored = sum((info.state.subjects or {}).values())
    sub = await js.subscribe(subjects.TRADE_EXECUTED, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    counts: Counter[str] = Counter()
    try:
        for _ in range(stored):
            event = decode((await sub.next_msg(timeout=30)).data)
            if isinstance(event, TradeExecuted):
                counts[event.fill.order_id] += 1
    finally:
        await sub.unsubscribe()
    return counts


async def _ledger_differences(
    nc: Client, accounts: list[str], initial: dict[str, object], records: dict[str, RunRecord | None]
) -> tuple[int, int]:
    """Accounts whose cash or shares differ from initial + applied fills; runs applied more than once."""
    from services.portfolio.domain import AccountState, account_key
    from shared.holdings import shares_by_symbol

    bucket = await nc.jetstream(timeout=5).key_value(subjects.KV_PORTFOLIOS)
    executions_bucket = await nc.jetstream(timeout=5).key_value(subjects.KV_EXECUTIONS)
    executions: dict[str, ExecutionResult] = {}
    for run_id in records:
        found, _ = await kvops.read(executions_bucket, f"execution.{run_id}", ExecutionResult)
        if found is not None:
            executions[run_id] = found
    differences = duplicates = 0
    for account_id in accounts:
        state, _ = await kvops.read(bucket, account_key(account_id), AccountState)
        assert state is not None
        start = initial[account_id]
        assert isinstance(start, AccountState)
        cash = start.account.cash
        shares = dict(shares_by_symbol(start.account.lots))
        counts = Counter(state.applied_runs)
        duplicates += sum(1 for n in counts.values() if n > 1)
        for run_id in counts:
            execution = executions.get(run_id)
            if execution is None:
                continue
            for fill in execution.fills:
                if fill.simulated:
                    continue
                sign = 1 if fill.action == "buy" else -1
                notional = fill.shares * fill.price  # each fill settles to the cent (shared.money.settle)
                cash += -settle(notional + fill.commission) if sign > 0 else settle(notional - fill.commission)
                shares[fill.symbol] = shares.get(fill.symbol, Decimal(0)) + sign * fill.shares
        held = {s: n for s, n in shares_by_symbol(state.account.lots).items() if n}
        expected = {s: n for s, n in shares.items() if n}
        if state.account.cash.quantize(Decimal("0.01")) != cash.quantize(Decimal("0.01")) or held != expected:
            differences += 1
            print(f"  ledger difference {account_id}: cash {state.account.cash} vs {cash}; {held} vs {expected}")
        # every executed run of this account was applied
        for run_id, record in records.items():
            execution = executions.get(run_id)
            if (
                record is not None
                and record.request.account_id == account_id
                and execution is not None
                and execution.executed
                and run_id not in counts
            ):
                differences += 1
                print(f"  ledger difference {account_id}: executed run {run_id} never applied")
    return differences, duplicates


async def _initial_states(nc: Client, accounts: list[str]) -> dict[str, object]:
    from services.portfolio.domain import AccountState, account_key

    bucket = await nc.jetstream(timeout=5).key_value(subjects.KV_PORTFOLIOS)
    states: dict[str, object] = {}
    for account_id in accounts:
        for _ in range(240):
            try:
                state, _ = await kvops.read(bucket, account_key(account_id), AccountState)
            except Exception:  # leaders still being elected on a fresh cluster
                state = None
            if state is not None:
                states[account_id] = state
                break
            await asyncio.sleep(0.25)
        else:
            raise TimeoutError(f"account {account_id} never seeded")
    return states


@dataclass(frozen=True, slots=True)
class Tally:
    """What one phase (or all of them) left behind."""

    runs: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    duplicates: int = 0
    differences: int = 0
    stuck: int = 0
    kills: int = 0
    orders: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def line(self) -> str:
        return (
            f"{self.runs} runs, {self.completed} completed, {self.lost} lost, {self.duplicates} duplicate orders, "
            f"{self.differences} ledger differences, {self.stuck} stuck locks"
        )

    @property
    def bad(self) -> bool:
        return bool(self.lost or self.duplicates or self.differences or self.stuck)


class Victims(Protocol):
    """A phase's rotation: what round ``n`` kills (returning its name), and its restart."""

    rounds: int

    def kill(self, round_no: int) -> str: ...

    def restart(self, victim: str) -> None: ...

    restart_after_progress: bool  # restart once the round's runs have moved on without the victim


class ProcessVictims:
    """Single server: each service and nats-server in turn, restarted a second later."""

    restart_after_progress = False

    def __init__(self, sup: Supervisor, nats_server: NatsServer, rounds: int) -> None:
        self.sup, self.nats_server, self.rounds = sup, nats_server, rounds

    def kill(self, round_no: int) -> str:
        victim = VICTIMS[round_no % len(VICTIMS)]
        if victim == "nats-server":
            self.nats_server.kill()
        else:
            self.sup.stop_service(victim, kill=True)
        return victim

    def restart(self, victim: str) -> None:
        time.sleep(1.0)  # down for a moment, runs in flight
        if victim == "nats-server":
            self.nats_server.start()
        else:
            self.sup.start_service(victim)


class NodeVictims:
    """3-node cluster: the meta leader, then the node leading stream CMD, then the one leading KV ``runs``
    (as they are at the moment of the kill), each restarted once the round's runs made progress without it."""

    restart_after_progress = True
    ROLES = ("meta leader", f"leader of {subjects.STREAM_CMD}", f"leader of KV_{subjects.KV_RUNS}")

    def __init__(self, cluster: NatsCluster, rounds: int) -> None:
        self.cluster, self.rounds = cluster, rounds

    def kill(self, round_no: int) -> str:
        role = self.ROLES[round_no % len(self.ROLES)]
        leader = self.cluster.meta_leader() if role == "meta leader" else self.cluster.leader_of(role.split()[-1])
        node = leader or self.cluster.running()[0]
        self.cluster.kill(node)
        return f"node {node} ({role})"

    def restart(self, victim: str) -> None:
        self.cluster.restart(victim.split()[1], timeout=60)


async def _connect(url: str) -> Client:
    async def quiet(exc: Exception) -> None:  # servers are killed on purpose: no traceback per attempt
        return None

    servers = [u.strip() for u in url.split(",") if u.strip()]
    return await nats.connect(servers, max_reconnect_attempts=-1, reconnect_time_wait=0.5, error_cb=quiet)


async def _patiently(read: Callable[[], Awaitable[T]], seconds: float = 120.0) -> T:
    """``read()`` of the stores, asked again while the bus fails (a server restarting, a cluster electing
    leaders answers with time-outs) until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await read()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _wait_progress(nc: Client, run_ids: list[str], since: int, deadline: float) -> None:
    """Until at least half of the round's runs finished (the system works on without the victim)."""
    while time.monotonic() < deadline:
        try:
            records = await _records(nc, run_ids)
        except Exception:  # leaders being elected
            await asyncio.sleep(0.5)
            continue
        if sum(1 for r in records.values() if _finished(r)) >= min(len(run_ids), max(since, len(run_ids) // 2)):
            return
        await asyncio.sleep(0.5)


async def _phase(label: str, url: str, victims: Victims, accounts: list[str], per_round: float) -> Tally:
    """Rounds of live runs, one SIGKILL per round; then the invariants, from the stores."""
    nc = await _connect(url)
    try:
        for _ in range(240):  # provisioned by the first service up
            try:
                await nc.jetstream(timeout=2).key_value(subjects.KV_PORTFOLIOS)
                break
            except Exception:
                await asyncio.sleep(0.25)
        initial = await _initial_states(nc, accounts)
        run_ids: list[str] = []
        started = time.monotonic()
        for round_no in range(victims.rounds):
            risk = "aggressive" if round_no % 2 == 0 else "conservative"
            ids = []
            for account_id in accounts:
                run_id = str(uuid.uuid4())
                request = RebalanceRequested(
                    run_id=run_id, message_id=run_id, occurred_at=_now(), source="chaos",
                    request=RebalanceRequest(account_id=account_id, dry_run=False, risk_override=risk),  # type: ignore[arg-type]
                )  # fmt: skip
                await _publish(nc, subjects.REBALANCE_REQUESTED, encode(request), run_id)
                ids.append(run_id)
            run_ids += ids
            await asyncio.sleep(0.4 + 0.1 * (round_no % 3))  # mid-flight
            deadline = time.monotonic() + per_round
            victim = await asyncio.to_thread(victims.kill, round_no)
            killed_at = time.monotonic()
            if victims.restart_after_progress:
                before = await _patiently(partial(_records, nc, ids))
                done_before = sum(1 for r in before.values() if _finished(r)) + 1
                await _wait_progress(nc, ids, done_before, min(deadline, killed_at + 30))
            await asyncio.to_thread(victims.restart, victim)
            down = time.monotonic() - killed_at
            await _wait_round(nc, ids, deadline)
            records = await _patiently(partial(_records, nc, ids))
            done = sum(1 for r in records.values() if _finished(r))
            print(
                f"{label} round {round_no + 1}/{victims.rounds}: killed {victim}, back after {down:.1f} s; "
                f"{done}/{len(ids)} runs finished",
                flush=True,
            )
        records = await _patiently(partial(_records, nc, run_ids))
        completed = sum(1 for r in records.values() if _finished(r) and r is not None and r.status == "completed")
        failed = sum(1 for r in records.values() if _finished(r) and r is not None and r.status != "completed")
        lost = len(run_ids) - completed - failed
        orders = await _patiently(partial(_executed_orders, nc))
        duplicate_orders = sum(n - 1 for n in orders.values() if n > 1)
        differences, applied_twice = await _patiently(partial(_ledger_differences, nc, accounts, initial, records))
        locks = await _patiently(partial(_keys, nc, subjects.KV_RUNS, "lock"))
        stuck = len(locks) + len(await _patiently(partial(_keys, nc, subjects.KV_RUNS, "active")))
        for run_id, record in records.items():
            if record is not None and record.status == "failed":
                print(f"  failed {run_id}: {record.error}")
            elif not _finished(record):
                where = "never stored" if record is None else f"{record.status} at {record.current_step}"
                print(f"  lost {run_id}: {where}")
        elapsed = time.monotonic() - started
        tally = Tally(
            runs=len(run_ids), completed=completed, failed=failed, lost=lost,
            duplicates=duplicate_orders + applied_twice, differences=differences, stuck=stuck,
            kills=victims.rounds, orders=sum(orders.values()),
        )  # fmt: skip
        print(
            f"{label}: {len(run_ids)} live runs of {len(accounts)} accounts in {elapsed:.0f} s; "
            f"{victims.rounds} SIGKILLs; {tally.orders} orders executed; {failed} failed; "
            f"{applied_twice} runs applied twice"
        )
        print(f"{label}: {tally.line()}", flush=True)
        return tally
    finally:
        await nc.close()


def _now() -> datetime:
    return SystemClock().now()


def _system_env(workdir: Path) -> dict[str, str]:
    return {
        "HOUSEHOLD_FILE": str(workdir / "household.json"),
        "SEED_DEMO": "true",
        "STEP_TIMEOUT_SECONDS": "10",
        "STEP_MAX_ATTEMPTS": "5",
        "RETRY_BACKOFF_SECONDS": "0.5",
        "ACK_WAIT_SECONDS": "10",
        "NAK_DELAY_SECONDS": "0.5",
        "MAX_DELIVER": "8",
        "LOG_LEVEL": "WARNING",
        "METRICS_PORT_BASE": "0",
    }


def _single_server_phase(workdir: Path, accounts: list[str], rounds: int, per_round: float) -> Tally:
    """One nats-server (R1), every service and nats-server itself killed in turn."""
    phase_dir = workdir / "single"
    nats_server = NatsServer(phase_dir / "nats", port=_free_port(), log_file=phase_dir / "nats-server.log").start()
    sup = Supervisor(phase_dir, nats_url=nats_server.url, env=_system_env(workdir))
    try:
        for name in VICTIMS[:-1]:
            sup.start_service(name)
        return asyncio.run(
            _phase("single server", nats_server.url, ProcessVictims(sup, nats_server, rounds), accounts, per_round)
        )
    finally:
        sup.stop_all()
        nats_server.stop()


def _cluster_phase(workdir: Path, accounts: list[str], rounds: int, per_round: float) -> Tally:
    """A 3-node cluster, every stream and bucket R3, services listing the three nodes; one node killed a round."""
    phase_dir = workdir / "cluster"
    cluster = NatsCluster(phase_dir / "nats", log_dir=phase_dir / "logs").start(timeout=60)
    env = {**_system_env(workdir), "STREAM_REPLICAS": "3"}
    sup = Supervisor(phase_dir, nats_url=cluster.url, env=env)
    try:
        for name in VICTIMS[:-1]:
            sup.start_service(name)
        return asyncio.run(_phase("3-node cluster", cluster.url, NodeVictims(cluster, rounds), accounts, per_round))
    finally:
        sup.stop_all()
        cluster.stop()


def main() -> int:
    accounts_n = int(os.environ.get("CHAOS_ACCOUNTS", "20"))
    rounds = int(os.environ.get("CHAOS_ROUNDS", str(len(VICTIMS))))
    cluster_rounds = int(os.environ.get("CHAOS_CLUSTER_ROUNDS", str(2 * len(NodeVictims.ROLES))))
    per_round = float(os.environ.get("CHAOS_ROUND_SECONDS", "180"))
    workdir = Path(os.environ.get("CHAOS_DIR", "var/chaos")).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    accounts = _household(accounts_n, workdir / "household.json")
    phases: list[tuple[str, Tally]] = []
    if rounds > 0:
        phases.append(("single server", _single_server_phase(workdir, accounts, rounds, per_round)))
    if cluster_rounds > 0:
        phases.append(("3-node cluster", _cluster_phase(workdir, accounts, cluster_rounds, per_round)))
    total = sum((tally for _, tally in phases), Tally())
    for label, tally in phases:
        print(f"  {label}: {tally.line()} ({tally.kills} SIGKILLs, {tally.failed} failed)")
    print(f"logs: {workdir}/*/logs")
    print(f"chaos: {total.line()}", flush=True)
    return 1 if total.bad or not phases else 0


if __name__ == "__main__":
    sys.exit(main())
