"""Batch runs on a real nats-server: every account its own run and report, a bad account failing alone,
unknown accounts refused up front, one batch per idempotency key, and pacing within the in-flight window."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts import (
    BatchAccounts,
    BatchRecord,
    BatchRequested,
    RebalanceRequest,
    RebalanceRequested,
    RunRecord,
    batch_accounts_key,
    batch_key,
    batch_run_id,
    decode_as,
    encode,
    subjects,
)
from services.gateway.app import create_app
from services.portfolio.domain import AccountState, account_key
from shared.bus import kv as kvops
from shared.settings import Settings
from shared.testing.book import generate_book
from shared.testing.system import InProcessSystem, running_system

pytestmark = pytest.mark.integration

BAD = "bad-account"


def _book(tmp_path: Path, accounts: int) -> Path:
    book = generate_book(accounts, seed=7)
    bad_lot = {"lot_id": "bad-1", "symbol": "ZZZZ", "shares": "10", "cost_basis": "1000", "acquired": "2020-01-02"}
    book["households"].append(
        {"household_id": "hh-bad", "accounts": [{"account_id": BAD, "cash": "100", "lots": [bad_lot]}]}
    )
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book), encoding="utf-8")
    return path


def _ids(path: Path) -> list[str]:
    book = json.loads(path.read_text(encoding="utf-8"))
    return [a["account_id"] for h in book["households"] for a in h["accounts"]]


@pytest.fixture
def book_file(tmp_path: Path) -> Path:
    return _book(tmp_path, 19)


@pytest.fixture
async def book_system(settings: Settings, book_file: Path) -> AsyncIterator[InProcessSystem]:
    async with running_system(settings.model_copy(update={"household_file": book_file})) as running:
        yield running


@pytest.fixture
def http(settings: Settings, book_file: Path) -> Iterator[Callable[..., Any]]:
    """Calls the gateway (in a thread, with its own connection) as ``await http("post", path, json=...)``."""
    app = create_app(settings.model_copy(update={"household_file": book_file}))
    with TestClient(app) as client:

        async def call(method: str, path: str, **kwargs: Any) -> Any:
            return await asyncio.to_thread(getattr(client, method), path, **kwargs)

        yield call


async def _finished(system: InProcessSystem, batch_id: str, seen: list[BatchRecord] | None = None) -> BatchRecord:
    """Wait on KV watch events until the batch completes; every revision seen is appended to ``seen``."""
    bucket = await system.client.jetstream().key_value(subjects.KV_BATCHES)
    watcher = await bucket.watch(batch_key(batch_id))
    try:
        async with asyncio.timeout(60):
            async for entry in watcher:
                if entry is None or entry.value is None:
                    continue
                record = decode_as(entry.value, BatchRecord)
                if seen is not None:
                    seen.append(record)
                if record.status == "completed":
                    return record
    finally:
        await watcher.stop()
    raise TimeoutError(batch_id)


async def test_a_batch_runs_every_account_and_a_bad_one_fails_alone(
    book_system: InProcessSystem, book_file: Path, http: Callable[..., Any]
) -> None:
    accounts = _ids(book_file)
    assert len(accounts) == 20 and BAD in accounts
    response = await http(
        "post", "/api/rebalance/batch", json={"accountIds": accounts, "dryRun": True, "maxInFlight": 5}
    )
    assert response.status_code == 202, response.text
    batch_id = response.json()["batchId"]
    assert response.json()["total"] == 20
    await _finished(book_system, batch_id)

    view = (await http("get", f"/api/batches/{batch_id}")).json()
    assert view["status"] == "completed"
    assert (view["total"], view["completed"], view["failed"], view["cancelled"], view["pending"]) == (20, 19, 1, 0, 0)
    assert view["finishedAt"] is not None and view["accountsPerSecond"] > 0
    assert [r["accountId"] for r in view["runs"]] == accounts
    for run in view["runs"]:
        assert run["runId"] == batch_run_id(batch_id, run["accountId"])
        record = await book_system.run_record(run["runId"])
        assert record is not None and record.request.account_id == run["accountId"]
        assert record.request.dry_run is True and record.source == f"batch:{batch_id}"
        if run["accountId"] == BAD:
            assert run["status"] == "failed" and record.status == "failed"
            assert "ZZZZ" in (record.error or "") and "ZZZZ" in run["error"]
        else:
            assert run["status"] == "completed", record.error
            assert record.report is not None and record.report.account_id == run["accountId"]
    one = (await http("get", f"/api/runs/{view['runs'][0]['runId']}")).json()
    assert one["status"] == "completed" and one["report"]["accountId"] == accounts[0]
    # the dry runs travelled in chunks of 5 (the window): every chunk's record, marker and outputs are gone
    js = book_system.client.jetstream()
    runs = await js.key_value(subjects.KV_RUNS)
    assert [r.chunk_id for r in [await book_system.run_record(x["runId"]) for x in view["runs"]] if r] != [""] * 20
    assert await kvops.keys_matching(runs, "chunk.*") == []
    assert await kvops.keys_matching(runs, "activechunk.*") == []
    assert await kvops.keys_matching(await js.key_value(subjects.KV_STEPS), "chunk-*.>") == []


async def test_unknown_accounts_are_refused_up_front_naming_them(
    book_system: InProcessSystem, http: Callable[..., Any]
) -> None:
    response = await http("post", "/api/rebalance/batch", json={"accountIds": ["acct-00000", "nope-1", "nope-2"]})
    assert response.status_code == 422
    assert response.json()["unknownAccountIds"] == ["nope-1", "nope-2"]
    assert "nope-1, nope-2" in response.json()["error"]
    response = await http("post", "/api/rebalance/batch", json={"householdId": "hh-none"})
    assert response.status_code == 422 and "hh-none" in response.json()["error"]
    response = await http("post", "/api/rebalance/batch", json={"dryRun": True})
    assert response.status_code == 422 and "exactly one of accountIds, householdId or all" in response.json()["error"]
    response = await http("post", "/api/rebalance/batch", json={"all": True, "householdId": "hh-0000"})
    assert response.status_code == 422
    assert (await http("get", "/api/batches/no-such-batch")).status_code == 404
    bucket = await book_system.client.jetstream().key_value(subjects.KV_BATCHES)
    with pytest.raises(Exception, match="no keys"):
        await bucket.keys()


async def test_a_household_batch_and_an_all_batch_name_the_right_accounts(
    book_system: InProcessSystem, book_file: Path, http: Callable[..., Any]
) -> None:
    book = json.loads(book_file.read_text(encoding="utf-8"))
    household = book["households"][1]
    response = await http(
        "post", "/api/rebalance/batch", json={"householdId": household["household_id"], "dryRun": True}
    )
    assert response.status_code == 202, response.text
    record = await _finished(book_system, response.json()["batchId"])
    view = (await http("get", f"/api/batches/{record.batch_id}")).json()
    assert [r["accountId"] for r in view["runs"]] == [a["account_id"] for a in household["accounts"]]
    response = await http("post", "/api/rebalance/batch", json={"all": True, "dryRun": True})
    assert response.status_code == 202 and response.json()["total"] == 20


async def test_a_repeated_batch_request_is_one_batch_and_trades_each_account_once(
    book_system: InProcessSystem, book_file: Path, http: Callable[..., Any]
) -> None:
    accounts = [a for a in _ids(book_file) if a != BAD][:3]
    body = {"accountIds": accounts, "dryRun": False, "forceRebalance": True}
    first = await http("post", "/api/rebalance/batch", json=body, headers={"Idempotency-Key": "nightly-1"})
    second = await http("post", "/api/rebalance/batch", json=body, headers={"Idempotency-Key": "nightly-1"})
    assert first.status_code == second.status_code == 202
    batch_id = first.json()["batchId"]
    assert second.json()["batchId"] == batch_id
    record = await _finished(book_system, batch_id)
    assert record.states == "ccc"
    portfolios = await book_system.client.jetstream().key_value(subjects.KV_PORTFOLIOS)

    async def ledgers() -> list[AccountState]:
        states = [await kvops.read(portfolios, account_key(a), AccountState) for a in accounts]
        return [state for state, _ in states if state is not None]

    before = await ledgers()
    for account, state in zip(accounts, before, strict=True):
        assert state.applied_runs.count(batch_run_id(batch_id, account)) == 1
    # The same batch again, past JetStream's de-duplication (another message id): it starts nothing new.
    message = BatchRequested(
        run_id=batch_id, message_id=f"{batch_id}:again", occurred_at=book_system.clock.now(),
        account_ids=accounts, request=RebalanceRequest(account_id=accounts[0], force_rebalance=True),
    )  # fmt: skip
    await book_system.client.jetstream().publish(subjects.REBALANCE_BATCH_REQUESTED, encode(message))
    runs = await book_system.client.jetstream().key_value(subjects.KV_RUNS)
    again = await http("post", "/api/rebalance/batch", json=body, headers={"Idempotency-Key": "nightly-1"})
    assert again.json()["batchId"] == batch_id
    other = {**body, "accountIds": accounts[:2]}
    refused = await http("post", "/api/rebalance/batch", json=other, headers={"Idempotency-Key": "nightly-1"})
    assert refused.status_code == 409 and "accountIds differ" in refused.json()["error"]
    changed = {**body, "mode": "harvest"}
    refused = await http("post", "/api/rebalance/batch", json=changed, headers={"Idempotency-Key": "nightly-1"})
    assert refused.status_code == 409 and "mode" in refused.json()["error"]
    await _drained(book_system)
    assert await ledgers() == before
    run_keys = [k for k in await runs.keys() if k.startswith("run.")]
    assert sorted(run_keys) == sorted(f"run.{batch_run_id(batch_id, a)}" for a in accounts)


async def _drained(system: InProcessSystem) -> None:
    """Wait until the coordinator has handled every batch request (bounded)."""
    js = system.client.jetstream()
    async with asyncio.timeout(20):
        while True:
            info = await js.consumer_info(subjects.STREAM_EVT, "coordinator_batches")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.05)


async def test_a_batch_larger_than_its_window_is_paced_and_no_step_times_out(
    settings: Settings, tmp_path: Path
) -> None:
    book_file = _book(tmp_path, 40)
    accounts = [a for a in _ids(book_file) if a != BAD]
    paced = settings.model_copy(
        update={"household_file": book_file, "step_timeout_seconds": 2.0, "batch_max_in_flight": 4}
    )
    async with running_system(paced) as system:
        message = BatchRequested(
            run_id="paced-batch", message_id="paced-batch", occurred_at=system.clock.now(),
            account_ids=accounts, request=RebalanceRequest(account_id=accounts[0], dry_run=True),
        )  # fmt: skip
        await system.client.jetstream().publish(subjects.REBALANCE_BATCH_REQUESTED, encode(message))
        seen: list[BatchRecord] = []
        record = await _finished(system, "paced-batch", seen)
        assert record.states == "c" * len(accounts) and record.max_in_flight == 4
        assert max(r.count("r") for r in seen) <= 4
        assert len(seen) >= len(accounts) // 4  # released in turns, not all at once
        for account in accounts:
            run = await system.run_record(batch_run_id("paced-batch", account))
            assert isinstance(run, RunRecord) and run.status == "completed"
            assert all(step.attempts <= 1 for step in run.steps), [(s.name, s.attempts) for s in run.steps]


async def test_a_restarted_coordinator_starts_released_runs_never_stored_and_counts_finished_ones(
    book_system: InProcessSystem, book_file: Path
) -> None:
    """The state a crash leaves: a batch whose first account's run finished uncounted and whose second
    account was released but its run never stored. The restarted coordinator finishes the batch."""
    first, second, third = [a for a in _ids(book_file) if a != BAD][:3]
    js = book_system.client.jetstream()
    batch_id = "crashed-batch"
    request = RebalanceRequest(account_id=first, dry_run=True)
    run_id = batch_run_id(batch_id, first)
    started = RebalanceRequested(
        run_id=run_id, message_id=run_id, occurred_at=book_system.clock.now(), request=request,
        source=f"batch:{batch_id}",
    )  # fmt: skip
    await js.publish(subjects.REBALANCE_REQUESTED, encode(started), headers={"Nats-Msg-Id": run_id})
    assert (await book_system.wait_for_run(run_id)).status == "completed"
    await book_system.stop_service("coordinator")
    bucket = await js.key_value(subjects.KV_BATCHES)
    now = book_system.clock.now()
    accounts = BatchAccounts(batch_id=batch_id, account_ids=[first, second, third])
    record = BatchRecord(
        batch_id=batch_id, status="running", request=request, states="rrp", max_in_flight=2,
        created_at=now, updated_at=now,
    )  # fmt: skip
    await kvops.create(bucket, batch_accounts_key(batch_id), accounts)
    await kvops.create(bucket, batch_key(batch_id), record)
    await kvops.create(bucket, f"active.{batch_id}", {"run_id": batch_id})
    assert await book_system.run_record(batch_run_id(batch_id, second)) is None
    await book_system.start_service("coordinator")
    done = await _finished(book_system, batch_id)
    assert done.states == "ccc"
    for account in (first, second, third):
        run = await book_system.run_record(batch_run_id(batch_id, account))
        assert run is not None and run.status == "completed" and run.request.account_id == account
    assert await kvops.keys_matching(bucket, "active.*") == []


async def test_a_running_coordinator_reconciles_a_batch_whose_writes_were_lost(
    settings: Settings, book_file: Path
) -> None:
    """What a server crash can leave while the coordinator runs on (a released run never stored): the
    periodic reconcile finishes the batch without a restart."""
    first, second = [a for a in _ids(book_file) if a != BAD][:2]
    fast = settings.model_copy(update={"household_file": book_file, "batch_reconcile_seconds": 0.5})
    async with running_system(fast) as system:
        bucket = await system.client.jetstream().key_value(subjects.KV_BATCHES)
        now = system.clock.now()
        accounts = BatchAccounts(batch_id="lost-writes", account_ids=[first, second])
        record = BatchRecord(
            batch_id="lost-writes", status="running", request=RebalanceRequest(account_id=first, dry_run=True),
            states="rp", max_in_flight=1, created_at=now, updated_at=now,
        )  # fmt: skip
        await kvops.create(bucket, batch_accounts_key("lost-writes"), accounts)
        await kvops.create(bucket, batch_key("lost-writes"), record)
        await kvops.create(bucket, "active.lost-writes", {"run_id": "lost-writes"})
        done = await _finished(system, "lost-writes")
        assert done.states == "cc"


async def test_the_watchdog_removes_a_finished_chunk_that_came_back_and_resumes_one_that_lost_its_marker(
    settings: Settings, book_file: Path
) -> None:
    """What a killed server can leave of chunks: a finished chunk's record (its purge lost), and a live chunk
    without its ``activechunk.*`` marker. The first is removed, never resumed; the second finishes."""
    from contracts import chunk_key, encode_chunk, run_key
    from services.coordinator.domain.chunk import chunk_id_of, start_chunk

    first, second, third = [a for a in _ids(book_file) if a != BAD][:3]
    fast = settings.model_copy(update={"household_file": book_file, "run_watchdog_seconds": 0.3})
    async with running_system(fast) as system:
        js = system.client.jetstream()
        runs = await js.key_value(subjects.KV_RUNS)
        message = BatchRequested(
            run_id="done-batch", message_id="done-batch", occurred_at=system.clock.now(),
            account_ids=[first, second], request=RebalanceRequest(account_id=first, dry_run=True),
        )  # fmt: skip
        await js.publish(subjects.REBALANCE_BATCH_REQUESTED, encode(message))
        assert (await _finished(system, "done-batch")).states == "cc"
        finals = {a: await system.run_record(batch_run_id("done-batch", a)) for a in (first, second)}

        def requested(batch: str, account: str) -> RebalanceRequested:
            run_id = batch_run_id(batch, account)
            request = RebalanceRequest(account_id=account, dry_run=True)
            return RebalanceRequested(run_id=run_id, message_id=run_id, occurred_at=system.clock.now(),
                                      request=request, source=f"batch:{batch}")  # fmt: skip

        # an old revision of the finished batch's chunk (its runs at their first step), no marker
        stale_id = chunk_id_of("done-batch", [first, second])
        stale = start_chunk(stale_id, "done-batch", [requested("done-batch", a) for a in (first, second)],
                            system.clock.now())  # fmt: skip
        await runs.put(chunk_key(stale_id), encode_chunk(stale))
        # a live chunk whose marker was lost: its run claimed (first record written), never finished
        lost_id = chunk_id_of("lost-marker", [third])
        lost = start_chunk(lost_id, "lost-marker", [requested("lost-marker", third)], system.clock.now())
        await runs.put(run_key(lost.runs[0].run_id), encode(lost.runs[0]))
        await runs.put(chunk_key(lost_id), encode_chunk(lost))

        async with asyncio.timeout(30):
            while await kvops.keys_matching(runs, "chunk.*") or await kvops.keys_matching(runs, "activechunk.*"):
                await asyncio.sleep(0.1)
        resumed = await system.run_record(lost.runs[0].run_id)
        assert resumed is not None and resumed.status == "completed" and resumed.report is not None
        for account, final in finals.items():  # the stale chunk was removed, not run again
            assert await system.run_record(batch_run_id("done-batch", account)) == final
