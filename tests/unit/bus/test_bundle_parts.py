"""The pure parts of command bundles (shared/bus/bundles.py) and the step store's bundle cache
(shared/bus/steps.py) on an in-memory bucket."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
from nats.js.errors import KeyNotFoundError

from contracts import (
    CommandBundle,
    LoadPortfolio,
    Notified,
    Notify,
    ResultBundle,
    StepFailed,
    Trade,
    TradeRejected,
    decode,
    decode_as,
    encode,
    step_key,
)
from shared.bus.bundles import bundle_entry, result_bundle, result_bundles, split_result, step_failed
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.steps import StepStore, bundle_results
from shared.errors import InvalidInputError, TransientError

AT = datetime(2026, 5, 1, tzinfo=UTC)
STEP = "send-notifications"


def _notify(run_id: str, attempt: int = 1, step: str = STEP) -> Notify:
    return Notify(run_id=run_id, message_id=f"{run_id}:{step}:{attempt}", occurred_at=AT, step=step, attempt=attempt,
                  account_id="a", status="completed", message="m")  # fmt: skip


def _notified(command: Notify, channel: str = "x") -> Notified:
    return Notified(**result_envelope(command, AT), channels=[channel])


def _bundle(*commands: object, step: str = STEP) -> CommandBundle:
    return CommandBundle(run_id="chunk-1", message_id="chunk-1:s:1", occurred_at=AT, step=step,
                         commands=[msgspec.Raw(encode(c)) for c in commands])  # fmt: skip


def _rejected(command: Notify) -> TradeRejected:
    trade = Trade(trade_id="t1", symbol="AAA", action="sell", shares=Decimal(1), price=Decimal(1), value=Decimal(1),
                  reason="r")  # fmt: skip
    return TradeRejected(run_id=command.run_id, message_id=f"{command.run_id}:t1:rejected", occurred_at=AT,
                         step=command.step, attempt=command.attempt, account_id="a", trade=trade,
                         reason="no")  # fmt: skip


def test_the_runs_own_result_is_split_from_what_else_the_handler_publishes() -> None:
    command = _notify("r1", attempt=2)
    rejected = Outgoing("trade.v1.rejected", _rejected(command), "r1:t1:rejected")  # same run and step: not the result
    result = _notified(command)
    other_run = _notified(_notify("r2", attempt=2))
    outgoing = [
        rejected,
        Outgoing("n.evt", other_run, other_run.message_id),
        Outgoing("n.evt", result, result.message_id),
    ]
    found, rest = split_result(command, outgoing)
    assert found is result
    assert rest == outgoing[:2]
    earlier_attempt = _notified(_notify("r1", attempt=1))
    assert split_result(command, [Outgoing("n.evt", earlier_attempt, "x")]) == (
        None,
        [Outgoing("n.evt", earlier_attempt, "x")],
    )
    assert split_result(command, []) == (None, [])


def test_a_failure_is_answered_as_a_single_commands_is() -> None:
    command = _notify("r1", attempt=3)
    refused = step_failed(command, InvalidInputError("unknown account 'a'"), service="notifications", now=AT)
    assert refused == StepFailed(run_id="r1", message_id="r1:send-notifications:3:failed", occurred_at=AT, step=STEP,
                                 attempt=3, service="notifications", error="unknown account 'a'", retryable=False,
                                 error_type="InvalidInputError")  # fmt: skip
    assert step_failed(command, TransientError("later"), service="s", now=AT).retryable
    assert step_failed(command, RuntimeError(), service="s", now=AT).error == "RuntimeError"


def test_each_entry_passes_a_single_commands_checks_and_the_bundles_step() -> None:
    bundle = _bundle(_notify("r1"), _notify("r2", step="generate-report"), _notify("a.b"))
    ok, wrong_step, bad_id = (bundle_entry(bytes(raw), bundle, Notify) for raw in bundle.commands)
    assert ok == (_notify("r1"), "")
    assert wrong_step == (None, "step 'generate-report' in a bundle of step 'send-notifications'")
    assert bad_id[0] is None and bad_id[1].startswith("run_id 'a.b'")
    load = LoadPortfolio(run_id="r4", message_id="m", occurred_at=AT, step=STEP, account_id="a")
    assert bundle_entry(encode(load), bundle, Notify) == (None, "expected Notify, got LoadPortfolio")
    missing, problem = bundle_entry(b'{"schema":"notifications.notify.v1"}', bundle, Notify)
    assert missing is None and "required field" in problem


def test_the_answer_keeps_the_bundles_order_and_names_its_chunk_step_and_service() -> None:
    bundle = _bundle(_notify("r1"), _notify("r2"))
    ok = _notified(_notify("r1"))
    failed = step_failed(_notify("r2"), InvalidInputError("bad"), service="notifications", now=AT)
    answer = result_bundle(bundle, [ok, failed], service="notifications", now=AT)
    assert (answer.run_id, answer.message_id, answer.step, answer.service) == (
        "chunk-1", "chunk-1:s:1:results", STEP, "notifications")  # fmt: skip
    assert [decode(bytes(r)) for r in answer.results] == [ok, failed]
    assert decode_as(encode(answer), ResultBundle) == answer


def test_an_answer_too_large_for_one_message_is_split_in_order_under_the_payload_limit() -> None:
    bundle = _bundle(*(_notify(f"r{i}") for i in range(6)))
    results = [_notified(_notify(f"r{i}")) for i in range(6)]
    size = len(encode(results[0]))
    parts = result_bundles(bundle, results, service="notifications", now=AT, max_bytes=4096 + 2 * size + 2)
    assert [p.message_id for p in parts] == ["chunk-1:s:1:results", "chunk-1:s:1:results:1", "chunk-1:s:1:results:2"]
    assert [decode(bytes(r)) for p in parts for r in p.results] == results
    assert all(len(p.results) == 2 and len(encode(p)) <= 4096 + 2 * size + 2 + 1024 for p in parts)
    (whole,) = result_bundles(bundle, results, service="notifications", now=AT, max_bytes=1024 * 1024)
    assert whole == result_bundle(bundle, results, service="notifications", now=AT)


@dataclass
class _Entry:
    value: bytes | None
    operation: str | None = None


class _Bucket:
    """An in-memory KV bucket that counts its reads."""

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}
        self.reads: list[str] = []

    async def put(self, key: str, value: bytes) -> int:
        self.items[key] = value
        return 1

    async def get(self, key: str) -> _Entry:
        self.reads.append(key)
        if key not in self.items:
            raise KeyNotFoundError
        return _Entry(self.items[key])


def _stored(*results: object) -> bytes:
    return encode(ResultBundle(run_id="chunk-1", message_id="m", occurred_at=AT, step=STEP, service="notifications",
                               results=[msgspec.Raw(encode(r)) for r in results]))  # fmt: skip


def _store(bucket: _Bucket, cache_size: int = 64) -> StepStore:
    return StepStore(bucket, cache_size=cache_size)  # type: ignore[arg-type]


async def test_loaded_bundles_give_each_run_its_result_with_one_read_per_key() -> None:
    bucket = _Bucket()
    r1, r2 = _notified(_notify("r1"), "one"), _notified(_notify("r2"), "two")
    failed = step_failed(_notify("r3"), InvalidInputError("bad"), service="notifications", now=AT)
    bucket.items["chunk-1.send-notifications.d"] = _stored(r1, failed, r2)
    store = _store(bucket)
    assert (
        await store.load_bundles(["chunk-1.send-notifications.d", "chunk-1.gone.d", "chunk-1.send-notifications.d"])
        == 2
    )
    assert await store.get("r1", STEP, Notified) == r1
    assert await store.get("r2", STEP, Notified) == r2
    assert bucket.reads == ["chunk-1.send-notifications.d", "chunk-1.gone.d"]
    with pytest.raises(InvalidInputError, match="run r3 has no stored output"):  # a StepFailed is no output
        await store.get("r3", STEP, Notified)
    bucket.reads.clear()
    assert await store.load_bundles(["chunk-1.send-notifications.d"]) == 0  # loaded already: no read
    assert bucket.reads == []


async def test_a_bundle_is_read_again_once_its_results_left_the_cache() -> None:
    bucket = _Bucket()
    bucket.items["k1"] = _stored(_notified(_notify("r1")), _notified(_notify("r2")))
    bucket.items["k2"] = _stored(*(_notified(_notify(f"s{i}")) for i in range(3)))
    store = _store(bucket, cache_size=3)
    await store.load_bundles(["k1", "k2"])  # k2's three results push k1's out
    await store.load_bundles(["k1"])
    assert bucket.reads == ["k1", "k2", "k1"]
    assert (await store.get("r1", STEP, Notified)).run_id == "r1"


async def test_a_bundle_that_does_not_decode_is_skipped() -> None:
    bucket = _Bucket()
    bucket.items["k"] = b'{"schema":"step.result-bundle.v1"}'
    store = _store(bucket)
    assert await store.load_bundles(["k"]) == 1
    with pytest.raises(InvalidInputError):
        await store.get("r1", STEP, Notified)


async def test_a_written_bundle_is_stored_and_its_results_cached() -> None:
    bucket = _Bucket()
    r1 = _notified(_notify("r1"))
    failed = step_failed(_notify("r2"), InvalidInputError("bad"), service="notifications", now=AT)
    body = _stored(r1, failed)
    store = _store(bucket)
    await store.put_bundle("chunk-1.send-notifications.d", body, decode_as(body, ResultBundle).results)
    stored = bucket.items["chunk-1.send-notifications.d"]
    assert stored == zlib.compress(body, 1) and len(stored) < len(body)  # stored compressed
    assert bundle_results(stored) == bundle_results(body) == [r1]  # read back either way
    assert await store.get("r1", STEP, Notified) == r1
    assert await store.find("r2", STEP) is None  # the failure is not an output (read through to the bucket)
    assert bucket.reads == [step_key("r2", STEP)]
    await store.load_bundles(["chunk-1.send-notifications.d"])  # written by this process: not read
    assert bucket.reads == [step_key("r2", STEP)]
    assert bundle_results(body) == [r1]


def test_a_stored_bundle_gives_only_results_of_its_own_step() -> None:
    """An entry of another step in a bundle (refused by the coordinator, stored with the bundle's body) never
    becomes that run's output of the other step."""
    own = _notified(_notify("r1"))
    other = msgspec.structs.replace(_notified(_notify("r2")), step="generate-report")
    assert bundle_results(_stored(own, other)) == [own]


def test_bundle_results_names_what_does_not_decode() -> None:
    from contracts import ContractError

    with pytest.raises(ContractError):
        bundle_results(b"{}")
    with pytest.raises(ContractError, match="does not decompress"):
        bundle_results(b"x\x9cgarbage")
