"""A 3-node JetStream cluster loses a node mid-run (issue 11): with every stream, consumer and KV bucket at
3 replicas (``STREAM_REPLICAS=3``) and every service connected to the three nodes (``NATS_URL`` listing
them), a live run started before the node leading ``CMD`` is SIGKILLed completes after it, its orders
executed once each and its fills applied once. Eight processes provisioning the R3 topology at once all
succeed first."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from contracts import RunRecord, decode, decode_as, run_key, subjects
from contracts.messages import TradeExecuted
from services.portfolio.domain import AccountState, account_key
from shared.bus import kv as kvops
from shared.bus.provisioning import provision_patiently
from shared.bus.topology import buckets, consumers, streams
from shared.settings import Settings
from shared.testing.nats_cluster import NatsCluster
from shared.testing.system import running_system

# Run by `make chaos`, not `make test`: alone it passed every time (15-35 s), but twice in the whole suite
# on the shared 2-core machine (load average about 20) the CMD consumers stayed without a leader after the
# kill, most likely because their new followers were not yet current (hence the wait_ready below, added
# after those failures and not yet proven over many whole-suite runs).
pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(180)]

FINISHED = ("completed", "failed", "cancelled")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    with NatsCluster(tmp_path / "cluster") as running:
        yield running


async def _watch_run(nc: Client, run_id: str, done: object, timeout: float) -> RunRecord:
    """The run's record once ``done(record)`` holds, on KV watch events; a watch cut by a lost node is
    opened again (a new watch first delivers the current record)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                bucket = await nc.jetstream(timeout=5).key_value(subjects.KV_RUNS)
                watcher = await bucket.watch(run_key(run_id))
            except (nats.errors.Error, TimeoutError):  # electing leaders: ask again
                continue
            try:
                while True:
                    entry = await watcher.updates(timeout=3)
                    if entry is not None and entry.value:
                        record = decode_as(entry.value, RunRecord)
                        if done(record):  # type: ignore[operator]
                            return record
            except (nats.errors.Error, TimeoutError):  # no news for a while or the watch broke: re-open
                continue
            finally:
                await watcher.stop()


async def _executed(nc: Client) -> Counter[str]:
    """How many ``trade.v1.executed`` events each order id has in stream EVT."""
    js = nc.jetstream(timeout=10)
    info = await js.stream_info(subjects.STREAM_EVT, subjects_filter=subjects.TRADE_EXECUTED)
    expected = sum((info.state.subjects or {}).values())
    sub = await js.subscribe(subjects.TRADE_EXECUTED, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    counts: Counter[str] = Counter()
    try:
        for _ in range(expected):
            event = decode((await sub.next_msg(timeout=10)).data)
            assert isinstance(event, TradeExecuted)
            counts[event.fill.order_id] += 1
    finally:
        await sub.unsubscribe()
    return counts


async def _until_replicated(js: JetStreamContext, stream: str, timeout: float = 30.0) -> None:
    """Until the stream has its two followers and both are current (a scale-up from one replica is
    applied after the update answers)."""
    async with asyncio.timeout(timeout):
        while True:
            cluster = (await js.stream_info(stream)).cluster
            replicas = (cluster.replicas or []) if cluster is not None else []
            if len(replicas) == 2 and all(peer.current for peer in replicas):
                return
            await asyncio.sleep(0.1)  # a condition polled, not a delay


async def _provision_at_once(cluster: NatsCluster, settings: Settings) -> None:
    """A system provisioned with one replica, then eight processes declaring the R3 topology at the same
    moment: all succeed (on a cluster, a stream another client is being told about may get no answer:
    provisioning retries), and every stream and bucket has three replicas."""
    clients = [await nats.connect(cluster.urls) for _ in range(8)]
    try:
        await provision_patiently(clients[0].jetstream(timeout=4), settings.model_copy(update={"stream_replicas": 1}))
        assert (await clients[0].jetstream().stream_info(f"KV_{subjects.KV_RUNS}")).config.num_replicas == 1
        await asyncio.gather(*(provision_patiently(nc.jetstream(timeout=4), settings) for nc in clients))
        js = clients[0].jetstream()
        for stream in (*(spec.name for spec in streams()), *(f"KV_{spec.name}" for spec in buckets())):
            assert (await js.stream_info(stream)).config.num_replicas == 3, stream
            await _until_replicated(js, stream)
    finally:
        for nc in clients:
            await nc.close()


async def _diagnosis(nc: Client, cluster: NatsCluster, run_id: str) -> str:
    """What the cluster and the run look like, for a failure message."""
    lines = [f"running {cluster.running()}, meta leader {cluster.meta_leader()}"]
    js = nc.jetstream(timeout=5)
    try:
        for stream in (subjects.STREAM_CMD, subjects.STREAM_EVT, subjects.STREAM_TIMERS, f"KV_{subjects.KV_RUNS}"):
            info = await js.stream_info(stream)
            lines.append(f"{stream}: {info.state.messages} msgs, cluster {info.cluster}")
        for spec in consumers():
            if spec.stream == subjects.STREAM_CMD:
                c = await js.consumer_info(spec.stream, spec.durable)
                lines.append(
                    f"{spec.durable}: pending {c.num_pending} ack-pending {c.num_ack_pending} "
                    f"waiting {c.num_waiting} leader {c.cluster.leader if c.cluster else None}"
                )
        record, _ = await kvops.read(await js.key_value(subjects.KV_RUNS), run_key(run_id), RunRecord)
        if record is not None:
            lines.append(f"run {record.status} at {record.current_step}: {record.error}")
            lines += [f"  {step.name} {step.status} x{step.attempts}" for step in record.steps]
    except Exception as exc:
        lines.append(f"(diagnosis cut short: {type(exc).__name__}: {exc})")
    return "\n".join(lines)


async def test_a_run_started_before_a_node_dies_completes_after_it(cluster: NatsCluster) -> None:
    settings = Settings(
        nats_url=cluster.url,
        stream_replicas=3,
        step_timeout_seconds=10.0,
        step_max_attempts=8,  # a starved machine may take tens of seconds to elect every group's leader
        retry_backoff_seconds=0.2,
        nak_delay_seconds=0.1,
        ack_wait_seconds=5.0,
        max_deliver=8,
        seed_demo=True,
        webhook_url=None,
    )
    await _provision_at_once(cluster, settings)
    async with running_system(settings) as system:
        js = system.client.jetstream(timeout=10)
        # a node can be lost once every stream's and consumer's followers have caught up (each node's
        # /healthz says so): right after the scale-up to three replicas, a consumer whose new followers
        # are not current yet would be left without a leader
        await asyncio.to_thread(cluster.wait_ready, 60)

        run_id = await system.request_run("demo", dry_run=False, risk_override="aggressive")
        # the run is under way (past its first step) when the node leading CMD is killed
        await _watch_run(system.client, run_id, lambda r: r.step("load-portfolio").status == "completed", 60)
        victim = cluster.leader_of(subjects.STREAM_CMD)
        assert victim is not None
        cluster.kill(victim)

        try:
            record = await _watch_run(
                system.client,
                run_id,
                lambda r: r.status in FINISHED and r.step("send-notifications").status not in ("running", "pending"),
                90,
            )
        except TimeoutError:
            pytest.fail(f"the run never finished\n{await _diagnosis(system.client, cluster, run_id)}")
        assert record.status == "completed", await _diagnosis(system.client, cluster, run_id)
        assert record.executed and record.planned_trades
        assert cluster.leader_of(subjects.STREAM_CMD) not in (None, victim)

        orders = await _executed(system.client)
        assert len(orders) == record.planned_trades
        assert set(orders.values()) == {1}, orders  # every order executed once
        portfolios = await js.key_value(subjects.KV_PORTFOLIOS)
        state, _ = await kvops.read(portfolios, account_key("demo"), AccountState)
        assert state is not None and state.applied_runs.count(run_id) == 1
