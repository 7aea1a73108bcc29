"""Every message a service cannot handle reaches the DLQ with its reason, never stalls a stream and
never vanishes: deeply nested JSON, a message of the wrong type, run ids that cannot name a run, a
command to a verb no service has, a step result from a service that does not own the step, and a
handler that keeps failing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js.api import DeliverPolicy
from nats.js.errors import NoStreamResponseError

from contracts import (
    ExecutionResult,
    LoadPortfolio,
    RunCancelRequested,
    StepFailed,
    TradesExecuted,
    encode,
    subjects,
)
from services.coordinator.main import build
from shared.bus.dlq import DLQ_REASON_HEADER
from shared.settings import Settings
from shared.testing.system import SERVICE_NAMES, InProcessSystem

pytestmark = pytest.mark.integration

AT = datetime(2026, 5, 1, tzinfo=UTC)
NESTED = b'{"schema":"portfolio.load.v1","x":' + b"[" * 50_000 + b"]" * 50_000 + b"}"


async def _dlq_reason(system: InProcessSystem, subject: str, publish: bytes, msg_id: str) -> str:
    """Publish ``publish`` on ``subject`` and return the reason its copy in the DLQ carries."""
    js = system.client.jetstream()
    dlq = await js.subscribe(
        subjects.dlq_subject(subject), stream=subjects.STREAM_DLQ, deliver_policy=DeliverPolicy.NEW
    )
    try:
        await js.publish(subject, publish, headers={"Nats-Msg-Id": msg_id})
        message = await dlq.next_msg(timeout=20)
    finally:
        await dlq.unsubscribe()
    assert message.data == publish
    assert message.headers is not None
    return message.headers[DLQ_REASON_HEADER]


async def _drained(system: InProcessSystem, stream: str, durable: str) -> None:
    js = system.client.jetstream()
    async with asyncio.timeout(20):
        while True:
            info = await js.consumer_info(stream, durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.05)


def _load(run_id: str) -> bytes:
    return encode(
        LoadPortfolio(
            run_id=run_id, message_id=f"{run_id[:20]}:load", occurred_at=AT, step="load-portfolio", account_id="demo"
        )
    )


async def test_deeply_nested_json_goes_to_the_dlq_from_a_service_and_the_coordinator(system: InProcessSystem) -> None:
    reason = await _dlq_reason(system, subjects.PORTFOLIO_LOAD, NESTED, "nested-1")
    assert "nested too deeply" in reason
    reason = await _dlq_reason(system, subjects.REBALANCE_REQUESTED, NESTED, "nested-2")
    assert "nested too deeply" in reason
    await _drained(system, subjects.STREAM_CMD, "portfolio_v1_cmd_load")
    assert (await system.wait_for_run(await system.request_run("demo", dry_run=True))).status == "completed"


@pytest.mark.parametrize("run_id", ["a.b", "a*b", "a>b", "x" * 5000])
async def test_a_command_whose_run_id_cannot_name_a_run_goes_to_the_dlq(system: InProcessSystem, run_id: str) -> None:
    reason = await _dlq_reason(system, subjects.PORTFOLIO_LOAD, _load(run_id), f"bad-run-{len(run_id)}-{run_id[:3]}")
    assert reason.startswith("undecodable portfolio.v1.cmd.load message: run_id ")
    assert "use 1 to 128 letters, digits, '-' or '_'" in reason


async def test_an_event_whose_run_id_cannot_name_a_run_goes_to_the_dlq_at_once(system: InProcessSystem) -> None:
    failed = StepFailed(run_id="a*b", message_id="a*b:failed", occurred_at=AT, step="load-portfolio",
                        service="portfolio", error="x", retryable=True)  # fmt: skip
    subject = subjects.step_failed("portfolio")
    reason = await _dlq_reason(system, subject, encode(failed), "star-1")
    assert reason == "run_id 'a*b': use 1 to 128 letters, digits, '-' or '_'"


async def test_a_message_of_the_wrong_type_on_a_coordinator_subject_goes_to_the_dlq(system: InProcessSystem) -> None:
    cancel = RunCancelRequested(run_id="r1", message_id="r1:cancel", occurred_at=AT, reason="x")
    reason = await _dlq_reason(system, subjects.REBALANCE_REQUESTED, encode(cancel), "wrong-type-1")
    assert reason == "rebalance.v1.requested carries RebalanceRequested, not RunCancelRequested"
    reason = await _dlq_reason(system, subjects.PORTFOLIO_LOADED, _load("r2"), "wrong-type-2")
    assert "portfolio.v1.evt.loaded carries" in reason and "not LoadPortfolio" in reason


async def test_a_command_to_an_unknown_verb_is_refused_at_publish(system: InProcessSystem) -> None:
    """No stream stores it, so none waits unconsumed in CMD: the publisher is told at once."""
    js = system.client.jetstream()
    with pytest.raises(NoStreamResponseError):
        await js.publish("portfolio.v1.cmd.frobnicate", _load("r3"), headers={"Nats-Msg-Id": "verb-1"}, timeout=2)
    info = await js.stream_info(subjects.STREAM_CMD, subjects_filter=">")
    assert "portfolio.v1.cmd.frobnicate" not in (info.state.subjects or {})


async def test_a_step_result_from_a_service_that_does_not_own_the_step_is_refused(system: InProcessSystem) -> None:
    """The tax service's user publishes a TradesExecuted on its own subject: it completes nothing."""
    await system.stop_service("execution")
    run_id = await system.request_run("demo", dry_run=False)
    bucket = await system.client.jetstream().key_value(subjects.KV_RUNS)
    watcher = await bucket.watch(f"run.{run_id}")
    async with asyncio.timeout(30):
        async for entry in watcher:
            record = await system.run_record(run_id) if entry is not None else None
            if record is not None and record.step("execute-trades").status == "running":
                break
    await watcher.stop()
    forged = TradesExecuted(
        run_id=run_id, message_id=f"{run_id}:execute-trades:1:result", occurred_at=AT, step="execute-trades",
        attempt=1, account_id="demo",
        result=ExecutionResult(executed=True, dry_run=False, fills=[], rejected=[], total_cost=0, total_commission=0),  # type: ignore[arg-type]
    )  # fmt: skip
    reason = await _dlq_reason(system, "tax.v1.evt.plan-reviewed", encode(forged), "forged-1")
    assert "tax.v1.evt.plan-reviewed carries" in reason or "comes from execution" in reason
    reason = await _dlq_reason(system, "tax.v1.evt.executed", encode(forged), "forged-2")
    assert reason == (
        "TradesExecuted (execute-trades) comes from execution on execution.v1.evt.executed, not on tax.v1.evt.executed"
    )
    forged_failure = StepFailed(run_id=run_id, message_id=f"{run_id}:x", occurred_at=AT, step="execute-trades",
                                attempt=1, service="execution", error="forged", retryable=False)  # fmt: skip
    reason = await _dlq_reason(system, subjects.step_failed("tax"), encode(forged_failure), "forged-3")
    assert "a failure of execute-trades comes from execution" in reason
    assert (await system.run_record(run_id)).step("execute-trades").status == "running"  # type: ignore[union-attr]
    await system.start_service("execution")
    record = await system.wait_for_run(run_id)
    assert record.status == "completed" and record.executed is True
    assert record.report is not None and record.report.execution.executed and record.report.execution.trades


@pytest.fixture
async def without_coordinator(settings: Settings) -> AsyncIterator[InProcessSystem]:
    system = InProcessSystem(settings, services=tuple(n for n in SERVICE_NAMES if n != "coordinator"))
    await system.start()
    try:
        yield system
    finally:
        await system.stop()


async def test_a_coordinator_handler_that_keeps_failing_reaches_the_dlq_with_its_reason(
    without_coordinator: InProcessSystem, settings: Settings
) -> None:
    runtime, coordinator = build(settings.model_copy(update={"service_name": "coordinator"}))

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the run store is corrupt")

    coordinator.start = broken  # type: ignore[method-assign]
    await runtime.start()
    without_coordinator.runtimes["coordinator"] = runtime
    js = without_coordinator.client.jetstream()
    dlq = await js.subscribe(subjects.dlq_subject(subjects.REBALANCE_REQUESTED), stream=subjects.STREAM_DLQ)
    run_id = await without_coordinator.request_run("demo", dry_run=True)
    message = await dlq.next_msg(timeout=20)
    await dlq.unsubscribe()
    assert message.headers is not None
    assert message.headers[DLQ_REASON_HEADER] == "failed 3 times: RuntimeError: the run store is corrupt"
    assert run_id.encode() in message.data


REQUEST = (
    b'{"schema":"rebalance.requested.v1","run_id":"big-1","message_id":"big-1","occurred_at":"2026-05-01T00:00:00Z",'
    b'"request":{"account_id":"demo","require_approval":true,"approval_timeout_seconds":1e12}}'
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (b'"approval_timeout_seconds":1e12', "approval_timeout_seconds: must be more than 0 and at most 2.592e+06"),
        (b'"approval_timeout_seconds":1e12,"max_trade_amount":"1e13"', "max_trade_amount: must be more than 0"),
        (b'"approval_timeout_seconds":1e12,"withdraw_amount":"NaN"', "withdraw_amount: must be more than 0"),
    ],
)
async def test_an_unbounded_number_in_a_request_goes_to_the_dlq_and_locks_nothing(
    system: InProcessSystem, field: bytes, value: str
) -> None:
    body = REQUEST.replace(b'"approval_timeout_seconds":1e12', field)
    if b"max_trade" in field or b"withdraw" in field:
        body = body.replace(b"1e12", b"600")
    reason = await _dlq_reason(system, subjects.REBALANCE_REQUESTED, body, f"big-{len(field)}")
    assert value in reason and "$.request" in reason
    assert await system.run_record("big-1") is None
    record = await system.wait_for_run(await system.request_run("demo", dry_run=False))
    assert record.status == "completed", record.error  # the account is not locked
