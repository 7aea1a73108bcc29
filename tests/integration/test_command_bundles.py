"""Command bundles on a real nats-server: a service handles one step's commands of many runs in one message
with its own handler and answers with one ``ResultBundle``; a bad entry is dead-lettered alone, a run that
fails fails alone (its ``StepFailed`` in the answer), and the earlier steps' outputs a bundle names are read
from KV ``steps`` once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

from contracts import (
    AccountSnapshot,
    AnalyzeMarket,
    AnalyzeMarketV2,
    CommandBundle,
    LoadPortfolio,
    Lot,
    Message,
    Notified,
    Notify,
    PortfolioLoaded,
    Quote,
    ResultBundle,
    SnapshotPrices,
    StepFailed,
    decode,
    decode_as,
    encode,
    snapshot_key,
    subjects,
)
from shared.bus.dlq import DLQ_REASON_HEADER
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError
from shared.settings import Settings
from shared.testing.system import build_service

pytestmark = pytest.mark.integration

AT = datetime(2026, 5, 1, tzinfo=UTC)
AS_OF = date(2026, 4, 30)
SNAPSHOT = "2026-04-30-test"


def _notify(run_id: str, account: str, *, step: str = "send-notifications") -> bytes:
    return encode(
        Notify(run_id=run_id, message_id=f"{run_id}:{step}:1", occurred_at=AT, step=step, account_id=account,
               status="completed", message="done")
    )  # fmt: skip


def _bundle(chunk: str, step: str, commands: Sequence[bytes], inputs: dict[str, list[str]] | None = None) -> bytes:
    return encode(
        CommandBundle(run_id=chunk, message_id=f"{chunk}:{step}:1", occurred_at=AT, step=step,
                      commands=[msgspec.Raw(c) for c in commands], inputs=inputs or {})
    )  # fmt: skip


class Listener:
    """A JetStream subscription taken before the test publishes (only new messages)."""

    def __init__(self, js: JetStreamContext, subject: str, stream: str) -> None:
        self.js, self.subject, self.stream = js, subject, stream
        self.sub: Any = None

    async def __aenter__(self) -> Listener:
        self.sub = await self.js.subscribe(self.subject, stream=self.stream, deliver_policy=DeliverPolicy.NEW)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sub.unsubscribe()

    async def next(self, timeout: float = 20) -> Any:
        return await self.sub.next_msg(timeout=timeout)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    import nats

    nc = await nats.connect(settings.nats_url)
    yield nc
    await nc.close()


async def _started(runtime: ServiceRuntime) -> ServiceRuntime:
    await runtime.start()
    return runtime


def _results(message: Any) -> tuple[ResultBundle, list[Message]]:
    bundle = decode_as(message.data, ResultBundle)
    return bundle, [decode(bytes(raw)) for raw in bundle.results]


async def _count(js: JetStreamContext, subject: str) -> int:
    info = await js.stream_info(subjects.stream_of(subject), subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def test_a_bundle_is_answered_once_with_each_runs_result_and_bad_entries_go_to_the_dlq_alone(
    settings: Settings, client: Client
) -> None:
    handled: list[str] = []

    async def notify(command: Notify) -> Sequence[Outgoing]:
        handled.append(command.run_id)
        if command.account_id == "bad":
            raise InvalidInputError(f"unknown account {command.account_id!r}")
        if command.account_id == "flaky":
            raise ConnectionError("the webhook host went away")
        event = Notified(**result_envelope(command, AT), channels=[command.account_id])
        return [Outgoing(subjects.NOTIFICATIONS_NOTIFIED, event, event.message_id)]

    runtime = ServiceRuntime("notifications", settings)
    runtime.command(subjects.NOTIFICATIONS_NOTIFY, Notify, notify)
    await runtime.start()
    js = client.jetstream()
    entries = [
        _notify("run-ok", "acct-1"),
        b'{"schema":"notifications.notify.v1","run_id":"run-x"}',  # does not decode (fields missing)
        _notify("run-bad", "bad"),
        _notify("run-step", "acct-2", step="generate-report"),  # another step than the bundle's
        _notify("run-flaky", "flaky"),
        _notify("run-ok2", "acct-3"),
    ]
    try:
        async with (
            Listener(js, subjects.step_results("notifications"), subjects.STREAM_EVT) as answers,
            Listener(js, subjects.dlq_subject(subjects.NOTIFICATIONS_NOTIFY), subjects.STREAM_DLQ) as dlq,
        ):
            body = _bundle("chunk-1", "send-notifications", entries)
            await js.publish(subjects.NOTIFICATIONS_NOTIFY, body, headers={"Nats-Msg-Id": "chunk-1:n:1"})
            answer = await answers.next()
            dead = [await dlq.next(), await dlq.next()]
            # the service is still alive: a single command after the bundle is answered as ever
            async with Listener(js, subjects.NOTIFICATIONS_NOTIFIED, subjects.STREAM_EVT) as notified:
                await js.publish(subjects.NOTIFICATIONS_NOTIFY, _notify("run-after", "acct-9"),
                                 headers={"Nats-Msg-Id": "run-after"})  # fmt: skip
                alone = decode((await notified.next()).data)
    finally:
        await runtime.stop()

    assert answer.headers["Nats-Msg-Id"] == "chunk-1:send-notifications:1:results"
    bundle, results = _results(answer)
    assert (bundle.run_id, bundle.step, bundle.service) == ("chunk-1", "send-notifications", "notifications")
    assert bundle.message_id == "chunk-1:send-notifications:1:results"
    assert [type(r).__name__ for r in results] == ["Notified", "StepFailed", "StepFailed", "Notified"]
    assert [r.run_id for r in results] == ["run-ok", "run-bad", "run-flaky", "run-ok2"]
    ok, bad, flaky, ok2 = results
    assert (
        isinstance(ok, Notified) and ok.channels == ["acct-1"] and ok.message_id == "run-ok:send-notifications:1:result"
    )
    assert isinstance(ok2, Notified) and ok2.channels == ["acct-3"]
    assert isinstance(bad, StepFailed)
    assert (bad.error, bad.retryable, bad.error_type) == ("unknown account 'bad'", False, "InvalidInputError")
    assert (bad.message_id, bad.service, bad.step) == (
        "run-bad:send-notifications:1:failed",
        "notifications",
        "send-notifications",
    )
    assert isinstance(flaky, StepFailed)
    assert (flaky.error, flaky.retryable, flaky.error_type) == ("the webhook host went away", True, "ConnectionError")
    # the bad entries never reached the handler; each is in the DLQ with its body and reason
    assert handled == ["run-ok", "run-bad", "run-flaky", "run-ok2", "run-after"]
    assert dead[0].data == entries[1] and dead[1].data == entries[3]
    assert (
        dead[0]
        .headers[DLQ_REASON_HEADER]
        .startswith("undecodable notifications.v1.cmd.notify message (bundle chunk-1:send-notifications:1, entry 1): ")
    )
    assert (
        dead[1]
        .headers[DLQ_REASON_HEADER]
        .endswith("entry 3): step 'generate-report' in a bundle of step 'send-notifications'")
    )
    assert isinstance(alone, Notified) and alone.run_id == "run-after"
    # one answer, the results not also published one by one, the bundle acknowledged (never redelivered)
    assert await _count(js, subjects.step_results("notifications")) == 1
    assert await _count(js, subjects.NOTIFICATIONS_NOTIFIED) == 1
    assert await _count(js, subjects.step_failed("notifications")) == 0
    info = await js.consumer_info(subjects.STREAM_CMD, "notifications_v1_cmd_notify")
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


def _loaded(run_id: str, shares: dict[str, str]) -> PortfolioLoaded:
    lots = [Lot(lot_id=f"{run_id}-{s}", symbol=s, shares=Decimal(n), cost_basis=Decimal(100), acquired=date(2020, 1, 2))
            for s, n in shares.items()]  # fmt: skip
    account = AccountSnapshot(account_id=f"acct-{run_id}", household_id="h", lots=lots)
    return PortfolioLoaded(run_id=run_id, message_id=f"{run_id}:load-portfolio:1:result", occurred_at=AT,
                           step="load-portfolio", account=account)  # fmt: skip


def _quote(symbol: str, close: str) -> Quote:
    return Quote(symbol=symbol, as_of=AS_OF, close=Decimal(close), previous_close=Decimal(close), change=Decimal(0),
                 change_percent=Decimal(0))  # fmt: skip


def _analyze(run_id: str, attempt: int = 1) -> bytes:
    return encode(
        AnalyzeMarketV2(run_id=run_id, message_id=f"{run_id}:analyze-market-conditions:{attempt}", occurred_at=AT,
                        step="analyze-market-conditions", attempt=attempt, as_of=AS_OF, snapshot_id=SNAPSHOT)
    )  # fmt: skip


async def test_a_bundles_inputs_are_read_once_and_each_run_gets_its_own(settings: Settings, client: Client) -> None:
    """A stored ``ResultBundle`` of ``load-portfolio`` named in a v2 bundle's inputs: the handler gets each
    run's v1 command resolved from its own output, with one KV read of the stored bundle, and none the
    next time the same key is named."""
    seen: list[AnalyzeMarket] = []

    async def analyze(command: AnalyzeMarket) -> Sequence[Outgoing]:
        seen.append(command)
        event = Notified(
            **result_envelope(command, AT), channels=[f"{s}={w}" for s, w in sorted(command.weights.items())]
        )
        return [Outgoing(subjects.ANALYSIS_ANALYZED, event, event.message_id)]

    runtime = ServiceRuntime("analysis", settings)
    runtime.command(subjects.ANALYSIS_ANALYZE, AnalyzeMarket, analyze)
    await runtime.start()
    js = client.jetstream()
    steps_bucket = await js.key_value(subjects.KV_STEPS)
    snapshots = await js.key_value(subjects.KV_SNAPSHOTS)
    prices = SnapshotPrices(snapshot_id=SNAPSHOT, as_of=AS_OF, symbols=["AAA", "BBB"],
                            quotes={"AAA": _quote("AAA", "10"), "BBB": _quote("BBB", "30")})  # fmt: skip
    await snapshots.put(snapshot_key(SNAPSHOT, "prices"), encode(prices))
    failed = StepFailed(run_id="r3", message_id="r3:load-portfolio:1:failed", occurred_at=AT, step="load-portfolio",
                        service="portfolio", error="unknown account", retryable=False)  # fmt: skip
    stored = ResultBundle(
        run_id="chunk-9", message_id="chunk-9:load-portfolio:1:results", occurred_at=AT, step="load-portfolio",
        service="portfolio",
        results=[
            msgspec.Raw(encode(m))
            for m in (_loaded("r1", {"AAA": "10"}), _loaded("r2", {"AAA": "3", "BBB": "1"}), failed)
        ],
    )  # fmt: skip
    key = "chunk-9.load-portfolio.d1"
    await steps_bucket.put(key, encode(stored))
    reads: list[str] = []
    store = await runtime.steps()
    real_get = store.bucket.get

    async def counted_get(k: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(k)
        return await real_get(k, *args, **kwargs)

    store.bucket.get = counted_get  # type: ignore[method-assign,assignment]
    inputs = {"load-portfolio": [key]}
    try:
        async with Listener(js, subjects.step_results("analysis"), subjects.STREAM_EVT) as answers:
            step = "analyze-market-conditions"
            body = _bundle("chunk-9", step, [_analyze(r) for r in ("r1", "r2", "r3")], inputs)
            await js.publish(subjects.ANALYSIS_ANALYZE, body, headers={"Nats-Msg-Id": "b1"})
            first = await answers.next()
            again = encode(CommandBundle(run_id="chunk-9", message_id="chunk-9:analyze:2", occurred_at=AT, step=step,
                                         commands=[msgspec.Raw(_analyze("r2", attempt=2))], inputs=inputs))  # fmt: skip
            await js.publish(subjects.ANALYSIS_ANALYZE, again, headers={"Nats-Msg-Id": "b2"})
            second = await answers.next()
    finally:
        await runtime.stop()

    _, results = _results(first)
    one, two, three = results
    assert isinstance(one, Notified) and one.channels == ["AAA=1"]
    assert isinstance(two, Notified) and two.channels == ["AAA=0.5", "BBB=0.5"]  # 3 x $10 and 1 x $30
    assert isinstance(three, StepFailed) and three.run_id == "r3" and not three.retryable
    assert three.error == "run r3 has no stored output of load-portfolio (expired, or the step never ran)"
    assert [(c.run_id, c.attempt, c.snapshot_id) for c in seen] == [
        ("r1", 1, SNAPSHOT),
        ("r2", 1, SNAPSHOT),
        ("r2", 2, SNAPSHOT),
    ]
    assert seen[1].weights == {"AAA": Decimal("0.5"), "BBB": Decimal("0.5")}
    _, later = _results(second)
    assert isinstance(later[0], Notified) and later[0].attempt == 2 and later[0].channels == ["AAA=0.5", "BBB=0.5"]
    # the stored bundle was read once (the second bundle found it in memory); r3's own key once, as a single run's
    assert reads == [key, "r3.load-portfolio"]


async def test_the_real_portfolio_handler_loads_a_bundle_of_accounts(settings: Settings, client: Client) -> None:
    runtime = build_service("portfolio", settings)
    await runtime.start()
    js = client.jetstream()
    step = "load-portfolio"
    loads = [
        encode(LoadPortfolio(run_id=f"p{i}", message_id=f"p{i}:{step}:1", occurred_at=AT, step=step, account_id=a))
        for i, a in enumerate(["demo", "nobody", "demo"])
    ]
    try:
        async with Listener(js, subjects.step_results("portfolio"), subjects.STREAM_EVT) as answers:
            await js.publish(subjects.PORTFOLIO_LOAD, _bundle("chunk-p", step, loads), headers={"Nats-Msg-Id": "p"})
            _, results = _results(await answers.next())
    finally:
        await runtime.stop()
    first, missing, third = results
    assert isinstance(first, PortfolioLoaded) and first.run_id == "p0" and first.account.account_id == "demo"
    assert first.account.lots
    assert isinstance(third, PortfolioLoaded) and third.run_id == "p2" and third.account == first.account
    assert isinstance(missing, StepFailed) and missing.run_id == "p1" and "nobody" in missing.error
    assert not missing.retryable


async def test_a_chunks_stored_bundles_are_written_cached_and_dropped_with_the_chunk(
    settings: Settings, client: Client
) -> None:
    """``put_bundle`` stores a chunk's result bundle and caches each run's result (no read to find it);
    ``drop_run(chunk_id, [])`` purges every ``<chunk_id>.<step>.<digest>`` key and leaves other chunks'."""
    runtime = ServiceRuntime("coordinator", settings)
    await runtime.start()
    try:
        store = await runtime.steps()
        loaded = _loaded("c1", {"AAA": "1"})
        body = encode(ResultBundle(run_id="chunk-a", message_id="m", occurred_at=AT, step="load-portfolio",
                                   service="portfolio", results=[msgspec.Raw(encode(loaded))]))  # fmt: skip
        for key in ("chunk-a.load-portfolio.d1", "chunk-a.tax-context.d2", "chunk-b.load-portfolio.d1"):
            await store.put_bundle(key, body, [loaded])
        reads = store.reads
        assert await store.get("c1", "load-portfolio", PortfolioLoaded) == loaded
        assert store.reads == reads
        await store.drop_run("chunk-a", [])
        bucket = await client.jetstream().key_value(subjects.KV_STEPS)
        assert sorted(await bucket.keys()) == ["chunk-b.load-portfolio.d1"]
    finally:
        await runtime.stop()


async def test_the_entries_of_a_bundle_share_their_reads_and_single_commands_do_not(
    settings: Settings, client: Client
) -> None:
    """An account's household read by three runs of one bundle is read once (``shared.bus.read_scope``)."""
    from shared.bus.read_scope import read_once

    reads: list[str] = []

    async def household() -> str:
        reads.append("household.h")
        return "h"

    async def notify(command: Notify) -> Sequence[Outgoing]:
        await read_once("household.h", household)
        event = Notified(**result_envelope(command, AT), channels=[command.account_id])
        return [Outgoing(subjects.NOTIFICATIONS_NOTIFIED, event, event.message_id)]

    runtime = ServiceRuntime("notifications", settings)
    runtime.command(subjects.NOTIFICATIONS_NOTIFY, Notify, notify)
    await runtime.start()
    js = client.jetstream()
    try:
        async with Listener(js, subjects.step_results("notifications"), subjects.STREAM_EVT) as answers:
            body = _bundle("chunk-r", "send-notifications", [_notify(f"run-r{i}", f"acct-{i}") for i in range(3)])
            await js.publish(subjects.NOTIFICATIONS_NOTIFY, body, headers={"Nats-Msg-Id": "chunk-r:n:1"})
            _, results = _results(await answers.next())
        async with Listener(js, subjects.NOTIFICATIONS_NOTIFIED, subjects.STREAM_EVT) as notified:
            await js.publish(subjects.NOTIFICATIONS_NOTIFY, _notify("run-alone", "acct-9"),
                             headers={"Nats-Msg-Id": "run-alone"})  # fmt: skip
            await notified.next()
    finally:
        await runtime.stop()
    assert [r.run_id for r in results] == ["run-r0", "run-r1", "run-r2"]
    assert reads == ["household.h", "household.h"]  # once for the bundle, once for the single command


async def test_a_bundle_of_one_household_s_loads_replays_its_ledger_once(
    settings: Settings, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three runs of the demo household in one bundle: its ledger is derived once (each account gets its own
    lots from it); a single load after the bundle derives it again."""
    import services.portfolio.handlers as portfolio_handlers

    replayed: list[int] = []
    real = portfolio_handlers.household_ledger

    def counting(household: Any, securities: Any) -> Any:
        replayed.append(len(household))
        return real(household, securities)

    monkeypatch.setattr(portfolio_handlers, "household_ledger", counting)
    runtime = build_service("portfolio", settings)
    await runtime.start()
    js = client.jetstream()
    step = "load-portfolio"
    accounts = ["demo", "demo-growth", "demo-ira"]
    loads = [
        encode(LoadPortfolio(run_id=f"h{i}", message_id=f"h{i}:{step}:1", occurred_at=AT, step=step, account_id=a))
        for i, a in enumerate(accounts)
    ]
    try:
        async with Listener(js, subjects.step_results("portfolio"), subjects.STREAM_EVT) as answers:
            await js.publish(subjects.PORTFOLIO_LOAD, _bundle("chunk-h", step, loads), headers={"Nats-Msg-Id": "h"})
            _, results = _results(await answers.next())
        assert replayed == [3]
        async with Listener(js, subjects.PORTFOLIO_LOADED, subjects.STREAM_EVT) as loaded:
            await js.publish(subjects.PORTFOLIO_LOAD, loads[0], headers={"Nats-Msg-Id": "h-alone"})
            alone = decode((await loaded.next()).data)
    finally:
        await runtime.stop()
    assert replayed == [3, 3]
    assert [r.account.account_id for r in results if isinstance(r, PortfolioLoaded)] == accounts
    assert len({tuple(lot.lot_id for lot in r.account.lots) for r in results if isinstance(r, PortfolioLoaded)}) == 3
    first = results[0]
    assert isinstance(alone, PortfolioLoaded) and isinstance(first, PortfolioLoaded) and alone.account == first.account


async def test_a_single_command_is_not_queued_behind_a_bundle(settings: Settings, client: Client) -> None:
    """Bundles travel on their own lane (``<subject>.bundle``) and yield between entries: a single run's
    command published while a slow bundle is being handled is answered before the bundle is."""
    import time

    started: list[str] = []

    async def notify(command: Notify) -> Sequence[Outgoing]:
        started.append(command.run_id)
        if command.run_id.startswith("slow"):
            time.sleep(0.05)  # CPU-bound work: nothing else runs meanwhile unless the bundle yields
        event = Notified(**result_envelope(command, AT), channels=[command.account_id])
        return [Outgoing(subjects.NOTIFICATIONS_NOTIFIED, event, event.message_id)]

    runtime = ServiceRuntime("notifications", settings)
    runtime.command(subjects.NOTIFICATIONS_NOTIFY, Notify, notify)
    await runtime.start()
    js = client.jetstream()
    order: list[str] = []
    try:
        async with (
            Listener(js, subjects.step_results("notifications"), subjects.STREAM_EVT) as answers,
            Listener(js, subjects.NOTIFICATIONS_NOTIFIED, subjects.STREAM_EVT) as singles,
        ):
            body = _bundle("chunk-slow", "send-notifications", [_notify(f"slow-{i}", f"a{i}") for i in range(20)])
            lane = subjects.bundle_subject(subjects.NOTIFICATIONS_NOTIFY)
            await js.publish(lane, body, headers={"Nats-Msg-Id": "chunk-slow:n:1"})
            while not started:  # the bundle is being handled
                await asyncio.sleep(0.005)
            await js.publish(subjects.NOTIFICATIONS_NOTIFY, _notify("quick", "q"), headers={"Nats-Msg-Id": "quick"})

            async def single() -> None:
                await singles.next()
                order.append("single")

            async def bundle() -> None:
                await answers.next()
                order.append("bundle")

            await asyncio.gather(single(), bundle())
    finally:
        await runtime.stop()
    assert order == ["single", "bundle"]
    assert 0 < started.index("quick") < 20  # in between two of the bundle's entries
