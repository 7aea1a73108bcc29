"""The per-service NATS users of deploy/nats/accounts.conf against a real server running single.conf.

The provisioner declares the topology; each service then works with only its own permissions: a
whole run (execution included) completes with every service connected as its own user, and the
server logs no permission violation. What a service must not do is refused.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Iterator

import nats
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError

from contracts import AccountSnapshot, RebalanceRequest, RebalanceRequested, RunRecord, decode_as, run_key, subjects
from contracts.queries import AccountStatusQuery, ScheduleQuery, ScheduleReply
from shared.bus import kv as kvops
from shared.bus.provisioning import provision
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.bus.topology import durable_name
from shared.settings import Settings
from shared.testing.system import SERVICE_NAMES, build_service
from shared.testing.tls import make_pki
from tests.unit.deploy.nats_fixture import RunningNats, password, start_single

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNats]:
    yield from start_single(tmp_path_factory.mktemp("nats-single"))


def settings_for(server: RunningNats, user: str) -> Settings:
    return Settings(
        nats_url=server.url,
        nats_tls_ca=server.pki.ca,  # every service connects over TLS, verifying the server against the CA
        nats_user=user,
        nats_password=password(user),
        service_name=user,
        log_json=False,
        step_timeout_seconds=20,
    )


async def connect(server: RunningNats, user: str, errors: list[str] | None = None) -> Client:
    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc))

    return await nats.connect(server.url, user=user, password=password(user), error_cb=on_error, tls=client_tls(server))


def client_tls(server: RunningNats) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.pki.ca))


async def _provision(server: RunningNats) -> None:
    nc = await connect(server, "provisioner")
    try:
        await provision(nc.jetstream(timeout=10), settings_for(server, "provisioner"))
    finally:
        await nc.close()


@pytest.fixture(scope="module")
def provisioned(server: RunningNats) -> RunningNats:
    """The server with the topology declared once by the provisioner user."""
    asyncio.run(_provision(server))
    return server


async def start_runtime(runtime: ServiceRuntime) -> None:
    """Start a service as a deployment does (PROVISION_ON_START=false): with only its own permissions."""
    runtime.settings = runtime.settings.model_copy(update={"provision_on_start": False})
    await runtime.start()


async def test_bad_password_is_refused(server: RunningNats) -> None:
    with pytest.raises(Exception):  # noqa: B017 - nats-py raises a generic authorization error
        await nats.connect(
            server.url, user="portfolio", password="wrong", allow_reconnect=False, connect_timeout=2,
            tls=client_tls(server),
        )  # fmt: skip


async def test_portfolio_user_works_within_its_permissions(provisioned: RunningNats) -> None:
    errors: list[str] = []
    nc = await connect(provisioned, "portfolio", errors)
    admin = await connect(provisioned, "provisioner")
    try:
        js = nc.jetstream(timeout=2)
        # binds its durable pull consumer, pulls and acks a command
        durable = durable_name(subjects.PORTFOLIO_LOAD)
        sub = await js.pull_subscribe(subjects.PORTFOLIO_LOAD, durable=durable, stream=subjects.STREAM_CMD)
        await admin.jetstream().publish(subjects.PORTFOLIO_LOAD, b"{}")
        [message] = await sub.fetch(1, timeout=5)
        await message.ack_sync()
        # its own events: JetStream publish acknowledged by stream EVT
        for subject in (subjects.PORTFOLIO_LOADED, subjects.step_failed("portfolio")):
            assert (await js.publish(subject, b"{}")).stream == subjects.STREAM_EVT
        dlq = await js.publish(subjects.dlq_subject(subjects.PORTFOLIO_LOAD), b"poison")
        assert dlq.stream == subjects.STREAM_DLQ
        # reads and writes (compare-and-set) its KV bucket, lists its keys
        bucket = await js.key_value(subjects.KV_PORTFOLIOS)
        revision = await bucket.create("deploy-test", b"1")
        await bucket.update("deploy-test", b"2", last=revision)
        assert (await bucket.get("deploy-test")).value == b"2"
        assert "deploy-test" in await bucket.keys()
        assert errors == []

        # refused: another service's events, another service's bucket, consumers, provisioning
        for subject in (subjects.TAX_CONTEXT_BUILT, subjects.RUN_COMPLETED, subjects.EXECUTION_EXECUTE):
            await nc.publish(subject, b"{}")
        await nc.flush()
        refused_js = nc.jetstream(timeout=0.5)  # a refused API request is never answered
        with pytest.raises(NatsTimeoutError):
            await refused_js.key_value(subjects.KV_RUNS)
        with pytest.raises(NatsTimeoutError):
            await refused_js.pull_subscribe(
                subjects.TAX_BUILD_CONTEXT,
                durable=durable_name(subjects.TAX_BUILD_CONTEXT),
                stream=subjects.STREAM_CMD,
            )
        with pytest.raises(NatsTimeoutError):
            await provision(refused_js, settings_for(provisioned, "portfolio"))
        await nc.flush()
        await asyncio.sleep(0.05)
        refused = "\n".join(errors).lower()
        for subject in (
            subjects.TAX_CONTEXT_BUILT,
            subjects.RUN_COMPLETED,
            subjects.EXECUTION_EXECUTE,
            "$JS.API.STREAM.INFO.KV_runs",
            f"$JS.API.CONSUMER.INFO.CMD.{durable_name(subjects.TAX_BUILD_CONTEXT)}",
            f"$JS.API.STREAM.INFO.{subjects.STREAM_CMD}",
        ):
            assert f'permissions violation for publish to "{subject.lower()}"' in refused, subject
    finally:
        await nc.close()
        await admin.close()


async def test_a_run_completes_with_every_service_as_its_own_user(provisioned: RunningNats) -> None:
    before = len(provisioned.violations())
    runtimes: list[ServiceRuntime] = []
    admin = await connect(provisioned, "provisioner")
    try:
        for name in SERVICE_NAMES:
            runtime = build_service(name, settings_for(provisioned, name))
            await start_runtime(runtime)
            runtimes.append(runtime)
        gateway = ServiceRuntime("gateway", settings_for(provisioned, "gateway"))
        await start_runtime(gateway)
        runtimes.append(gateway)

        # what the gateway does for POST /api/portfolio/rebalance, as the gateway user
        query = AccountStatusQuery(account_id="demo")
        await request(gateway.broker, subjects.PORTFOLIO_QUERY_ACCOUNTS, query, AccountSnapshot)
        run_id = str(uuid.uuid4())
        message = RebalanceRequested(
            run_id=run_id,
            message_id=run_id,
            occurred_at=gateway.clock.now(),
            request=RebalanceRequest(account_id="demo", force_rebalance=True, dry_run=False),
            source="http",
        )
        watcher = await (await admin.jetstream().key_value(subjects.KV_RUNS)).watch(run_key(run_id))
        stored = await (await gateway.kv(subjects.KV_RUNS)).watch(run_key(run_id))  # as POST does
        await gateway.publish(subjects.REBALANCE_REQUESTED, message, msg_id=run_id)
        await stored.stop()
        record = None
        async with asyncio.timeout(40):
            async for entry in watcher:
                if entry is None or entry.value is None:
                    continue
                record = decode_as(entry.value, RunRecord)
                notified = record.step("send-notifications").status not in ("running", "retrying", "pending")
                if record.status in ("completed", "failed", "cancelled") and notified:
                    break
        await watcher.stop()
        assert record is not None
        assert record.status == "completed", (record.failed_step, record.error)
        # GET /api/runs/{id}: the gateway reads the coordinator's bucket
        seen, _ = await kvops.read(await gateway.kv(subjects.KV_RUNS), run_key(run_id), RunRecord)
        assert seen is not None and seen.status == "completed"
        # PUT, GET and DELETE /api/schedules: the gateway asks the coordinator, which owns TIMERS
        put = ScheduleQuery(action="put", name="lp-nightly", cron="@daily", request=RebalanceRequest(account_id="demo"))
        ask = subjects.COORDINATOR_QUERY_SCHEDULES
        assert [s.name for s in (await request(gateway.broker, ask, put, ScheduleReply)).schedules] == ["lp-nightly"]
        listed = await request(gateway.broker, ask, ScheduleQuery(action="list"), ScheduleReply)
        assert [s.name for s in listed.schedules] == ["lp-nightly"]
        gone = await request(gateway.broker, ask, ScheduleQuery(action="delete", name="lp-nightly"), ScheduleReply)
        assert len(gone.schedules) == 1
        assert (await request(gateway.broker, ask, ScheduleQuery(action="list"), ScheduleReply)).schedules == []
    finally:
        for runtime in reversed(runtimes):
            await runtime.stop()
        await admin.close()
    assert provisioned.violations()[before:] == []


async def test_the_gateway_may_not_purge_or_roll_up_timers(provisioned: RunningNats) -> None:
    """Every deadline and cron schedule lives in TIMERS: the gateway's user can neither purge it, nor publish
    into it (a message with ``Nats-Rollup: all`` would purge it too), nor read it."""
    admin = await connect(provisioned, "provisioner")
    errors: list[str] = []
    gateway = await connect(provisioned, "gateway", errors)
    try:
        admin_js = admin.jetstream()
        await admin_js.publish("run.v1.timer.schedule.lp-run.load-portfolio", b"{}")  # a deadline to keep
        before = (await admin_js.stream_info(subjects.STREAM_TIMERS)).state.messages
        refused = gateway.jetstream(timeout=0.5)
        with pytest.raises(NatsTimeoutError):
            await refused.purge_stream(subjects.STREAM_TIMERS)
        with pytest.raises(NatsTimeoutError):
            await refused.stream_info(subjects.STREAM_TIMERS)
        with pytest.raises(NatsTimeoutError):
            await refused.publish("run.v1.timer.schedule.cron.x", b"", headers={"Nats-Rollup": "all"})
        await gateway.flush()
        await asyncio.sleep(0.05)
        assert (await admin_js.stream_info(subjects.STREAM_TIMERS)).state.messages == before  # nothing lost
        violations = "\n".join(errors).lower()
        for subject in (
            f"$js.api.stream.purge.{subjects.STREAM_TIMERS.lower()}",
            f"$js.api.stream.info.{subjects.STREAM_TIMERS.lower()}",
            "run.v1.timer.schedule.cron.x",
        ):
            assert f'permissions violation for publish to "{subject}"' in violations, subject
    finally:
        await gateway.close()
        await admin.close()


async def test_clients_need_tls_and_the_right_ca(server: RunningNats, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The server requires TLS: a plain connection is refused, and so is a server certificate that does not
    chain to the client's CA (another CA's); with the CA, a service's settings connect."""
    with pytest.raises(Exception):  # noqa: B017 - nats-py reports the refusal in several forms
        await nats.connect(
            server.url.replace("tls://", "nats://"), user="portfolio", password=password("portfolio"),
            allow_reconnect=False, connect_timeout=2,
        )  # fmt: skip
    other = make_pki(tmp_path_factory.mktemp("other-ca"))
    with pytest.raises(Exception):  # noqa: B017 - certificate verify failed
        await nats.connect(
            server.url, user="portfolio", password=password("portfolio"), allow_reconnect=False,
            connect_timeout=2, tls=ssl.create_default_context(cafile=str(other.ca)),
        )  # fmt: skip
    runtime = ServiceRuntime("portfolio", settings_for(server, "portfolio"))
    await runtime.broker.connect()
    try:
        assert runtime.broker.connection.is_connected
        writer = runtime.broker.connection._transport._io_writer  # type: ignore[union-attr]
        assert writer.get_extra_info("ssl_object") is not None  # the connection is TLS
    finally:
        await runtime.broker.stop()
