"""Batches on the whole system (every service its own process, HTTP and the CLI only): ``kill -9`` of the
coordinator and the portfolio service, and of nats-server (restarted on the same store), mid-batch loses no
run and applies no fill twice; ``rebalance batch`` follows a batch to its end and names the account that
failed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from cli.supervisor import Supervisor
from contracts import batch_run_id, subjects
from services.portfolio.domain import AccountState, account_key
from shared.bus import kv as kvops
from shared.money import settle
from shared.paths import DEMO_HOUSEHOLD_FILE
from shared.testing.book import generate_book
from tests.e2e.test_system_processes import _free_port

pytestmark = pytest.mark.e2e

BAD = "bad-account"
GENERATED = 24


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    data = generate_book(GENERATED, seed=11)
    data["households"].append(json.loads(DEMO_HOUSEHOLD_FILE.read_text(encoding="utf-8")))
    bad_lot = {"lot_id": "bad-1", "symbol": "ZZZZ", "shares": "10", "cost_basis": "1000", "acquired": "2020-01-02"}
    data["households"].append({"household_id": "hh-bad", "accounts": [{"account_id": BAD, "lots": [bad_lot]}]})
    path = tmp_path_factory.mktemp("book") / "book.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    generated = [a["account_id"] for h in data["households"][:-2] for a in h["accounts"]]
    return path, generated


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, book: tuple[Path, list[str]]) -> Iterator[Supervisor]:
    env = {
        "STEP_TIMEOUT_SECONDS": "20",
        "HOUSEHOLD_FILE": str(book[0]),
        "BATCH_MAX_IN_FLIGHT": "3",
        "RUN_WATCHDOG_SECONDS": "2",
    }
    workdir = tmp_path_factory.mktemp("system")  # a fixed NATS port: a restarted server is found again
    supervisor = Supervisor(workdir, gateway_port=_free_port(), nats_port=_free_port(), env=env)
    try:
        supervisor.start_all()
        supervisor.wait_healthy(timeout=120)
        yield supervisor
    finally:
        supervisor.stop_all()


def _ledgers(url: str, accounts: list[str]) -> dict[str, AccountState]:
    async def read() -> dict[str, AccountState]:
        nc = await nats.connect(url)
        try:
            bucket = await nc.jetstream().key_value(subjects.KV_PORTFOLIOS)
            out = {}
            for account in accounts:
                state, _ = await kvops.read(bucket, account_key(account), AccountState)
                assert state is not None
                out[account] = state
            return out
        finally:
            await nc.close()

    return asyncio.run(read())


def _until(http: httpx.Client, batch_id: str, done: int, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            response = http.get(f"/api/batches/{batch_id}")
        except httpx.HTTPError:  # the gateway waits on a restarting server
            response = None
        if response is not None and response.status_code == 200:
            view = response.json()
            if view["completed"] + view["failed"] + view["cancelled"] >= done:
                return view
        time.sleep(0.2)
    raise TimeoutError(f"batch {batch_id}: fewer than {done} runs ended within {timeout}s: {view}")


def _start_batch(http: httpx.Client, accounts: list[str]) -> str:
    body = {"accountIds": accounts, "dryRun": False, "forceRebalance": True}
    response = http.post("/api/rebalance/batch", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["batchId"])


def _check_once(
    http: httpx.Client, view: dict[str, Any], before: dict[str, AccountState], after: dict[str, AccountState]
) -> None:
    """Every run completed, each account's fills applied once, its cash moved by exactly its trades."""
    accounts = list(before)
    assert view["status"] == "completed"
    assert (view["completed"], view["failed"], view["total"]) == (len(accounts), 0, len(accounts)), view
    for run in view["runs"]:
        account, run_id = run["accountId"], run["runId"]
        assert run_id == batch_run_id(view["batchId"], account)
        assert after[account].applied_runs.count(run_id) == 1
        report = http.get(f"/api/runs/{run_id}").json()["report"]
        spent = Decimal(0)
        for trade in report["execution"]["trades"]:
            value = Decimal(trade["shares"]) * Decimal(trade["executionPrice"])
            fee = Decimal(trade["commission"])
            spent += settle(value + fee) if trade["action"] == "buy" else -settle(value - fee)  # to the cent
        assert after[account].account.cash == before[account].account.cash - spent  # to the cent, once


@pytest.mark.timeout(360)
def test_kill_9_mid_batch_loses_no_run_and_applies_no_fill_twice(
    live: Supervisor, book: tuple[Path, list[str]]
) -> None:
    accounts = book[1][:14]
    before = _ledgers(live.nats_url, accounts)
    with httpx.Client(base_url=live.gateway_url, timeout=30.0) as http:
        batch_id = _start_batch(http, accounts)
        _until(http, batch_id, 4)
        assert live.stop_service("coordinator", kill=True) == -9
        assert live.stop_service("portfolio", kill=True) == -9
        live.start_service("portfolio")
        live.start_service("coordinator")
        view = _until(http, batch_id, len(accounts))
        _check_once(http, view, before, _ledgers(live.nats_url, accounts))


@pytest.mark.timeout(180)
def test_kill_9_of_nats_server_mid_batch_loses_no_run_and_applies_no_fill_twice(
    live: Supervisor, book: tuple[Path, list[str]]
) -> None:
    accounts = book[1][14:]
    before = _ledgers(live.nats_url, accounts)
    with httpx.Client(base_url=live.gateway_url, timeout=30.0) as http:
        batch_id = _start_batch(http, accounts)
        _until(http, batch_id, 3)
        server = live.nats
        assert server is not None and server.process is not None
        server.process.kill()  # SIGKILL: the server's JetStream store is left as a crash leaves it
        assert server.process.wait() == -9
        server.process = None
        server.start()  # same store, same port: every service reconnects
        # A command and deadline the killed server never stored are published again by the next copy of
        # the result that called for them (or, if none comes, by the coordinator's watchdog after the
        # step's deadline): the wait ends as soon as the batch has.
        view = _until(http, batch_id, len(accounts), timeout=120.0)
        _check_once(http, view, before, _ledgers(live.nats_url, accounts))


def _cli(live: Supervisor, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_URL": live.gateway_url, "COLUMNS": "120"}
    command = [sys.executable, "-m", "cli.main", "batch", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)


def test_the_cli_follows_a_batch_and_names_the_failed_account(live: Supervisor, book: tuple[Path, list[str]]) -> None:
    accounts = book[1][:4]
    done = _cli(live, *accounts, BAD, "--json", "--max-in-flight", "2")
    assert done.returncode == 1, done.stderr  # one account failed
    view = json.loads(done.stdout)
    assert (view["total"], view["completed"], view["failed"]) == (5, 4, 1)
    assert [r["accountId"] for r in view["runs"]] == [*accounts, BAD]
    assert "ZZZZ" in next(r for r in view["runs"] if r["accountId"] == BAD)["error"]
    assert "batch" in done.stderr and "5/5" in done.stderr  # the progress bar reached the end
    summary = _cli(live, "--household", "demo-household")
    assert summary.returncode == 0, summary.stderr
    assert "completed" in summary.stdout and "accounts/s" in summary.stdout
    unknown = _cli(live, "nobody", "ghost")
    assert unknown.returncode == 2 and "nobody, ghost" in unknown.stderr
    neither = _cli(live)
    assert neither.returncode == 2 and "exactly one" in neither.stderr


def _chunk_leftovers_and_reports(url: str, run_ids: set[str]) -> tuple[list[str], dict[str, int]]:
    """The chunk records and markers left in KV ``runs``, and how many ``report.v1.generated`` each run got."""

    async def read() -> tuple[list[str], dict[str, int]]:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            runs = await js.key_value(subjects.KV_RUNS)
            left = await kvops.keys_matching(runs, "chunk.*") + await kvops.keys_matching(runs, "activechunk.*")
            reports = {run_id: 0 for run_id in run_ids}
            sub = await js.subscribe(subjects.REPORT_GENERATED, stream=subjects.STREAM_EVT, ordered_consumer=True)
            pending = (await js.stream_info(subjects.STREAM_EVT, subjects_filter=subjects.REPORT_GENERATED)).state
            for _ in range(sum((pending.subjects or {}).values())):
                message = await sub.next_msg(timeout=10)
                run_id = json.loads(message.data)["run_id"]
                if run_id in reports:
                    reports[run_id] += 1
            await sub.unsubscribe()
            return left, reports
        finally:
            await nc.close()

    return asyncio.run(read())


@pytest.mark.timeout(300)
def test_kill_9_of_the_coordinator_a_service_and_nats_server_mid_chunked_dry_batch_loses_no_run(
    live: Supervisor, book: tuple[Path, list[str]]
) -> None:
    """A dry batch travels in chunks (one record and one message per step for several runs): kill -9 of the
    coordinator and the rebalancing service, then of nats-server, mid-batch; every run ends completed with
    its own final record and report, exactly one report event each, and no chunk is left behind."""
    accounts = book[1]
    with httpx.Client(base_url=live.gateway_url, timeout=30.0) as http:
        response = http.post("/api/rebalance/batch", json={"accountIds": accounts, "dryRun": True})
        assert response.status_code == 202, response.text
        batch_id = str(response.json()["batchId"])
        _until(http, batch_id, 3)
        assert live.stop_service("coordinator", kill=True) == -9
        assert live.stop_service("rebalancing", kill=True) == -9
        live.start_service("rebalancing")
        live.start_service("coordinator")
        _until(http, batch_id, 9)
        server = live.nats
        assert server is not None and server.process is not None
        server.process.kill()
        assert server.process.wait() == -9
        server.process = None
        server.start()
        view = _until(http, batch_id, len(accounts), timeout=180.0)
        assert view["status"] == "completed"
        assert (view["completed"], view["failed"], view["total"]) == (len(accounts), 0, len(accounts)), view
        run_ids = set()
        for run in view["runs"]:
            record = http.get(f"/api/runs/{run['runId']}").json()
            assert record["status"] == "completed" and record["report"]["accountId"] == run["accountId"]
            assert record["report"]["execution"]["dryRun"] is True
            run_ids.add(run["runId"])
    # A server killed before it stored a finished chunk's purge brings that chunk back; the coordinator's
    # watchdog (every 2 s here) removes it, since every run of it has its final record.
    deadline = time.monotonic() + 30
    left, reports = _chunk_leftovers_and_reports(live.nats_url, run_ids)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left, reports = _chunk_leftovers_and_reports(live.nats_url, run_ids)
    assert left == []
    assert set(reports.values()) == {1}, {r: n for r, n in reports.items() if n != 1}
