"""Live runs through the Alpaca adapter against the local Alpaca-like server, on a real nats-server:
orders go out once however often each bus message is delivered and whatever 429s and timeouts the
broker answers; partial fills and a rejection end in a ledger equal to the fills and an honest report;
a reconciliation break is caught, alerts, and stops trading until cleared."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from contracts import BrokerBookQuery, ExecutionResult, LedgerBook, ReconcileQuery, ReconcileReport, subjects
from services.portfolio.domain import AccountState, account_key
from shared.bus import kv as kvops
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.money import settle
from shared.settings import Settings
from shared.testing.system import InProcessSystem, running_system
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, alpaca_server
from tests.fakes.alpaca_stream import trade_updates_server
from tests.integration.expected import PRICES, close_on

pytestmark = pytest.mark.integration

AS_OF = "2026-05-01"
DEMO_HOUSEHOLD = Path(__file__).parents[2] / "shared" / "data" / "demo_household.json"


@pytest.fixture
def venue() -> Iterator[tuple[str, AlpacaState]]:
    prices = {}
    for path in PRICES.glob("*.csv"):
        with contextlib.suppress(KeyError):  # a fund listed after the run's date
            prices[path.stem] = close_on(path.stem, AS_OF)
    with alpaca_server(AlpacaState(prices=prices)) as served:
        yield served


@pytest.fixture
def alpaca_settings(settings: Settings, venue: tuple[str, AlpacaState]) -> Settings:
    return settings.model_copy(
        update={
            "broker": "alpaca",
            "apca_api_key_id": SecretStr(KEY_ID),
            "apca_api_secret_key": SecretStr(SECRET),
            "apca_api_base_url": venue[0],
            "broker_fill_polls": 2,
            "broker_poll_interval_seconds": 0.0,
            "broker_backoff_seconds": 0.0,
            "broker_request_timeout_seconds": 0.3,
        }
    )


@pytest.fixture
async def live(alpaca_settings: Settings, venue: tuple[str, AlpacaState]) -> AsyncIterator[InProcessSystem]:
    async with (
        trade_updates_server(venue[1]) as stream_url,
        running_system(alpaca_settings.model_copy(update={"apca_api_stream_url": stream_url})) as system,
    ):
        # The broker account holds what the ledger says (every demo account maps to the default one).
        (book,) = await _ask(system, subjects.PORTFOLIO_QUERY_BROKER_BOOK, BrokerBookQuery(), list[LedgerBook])
        state = venue[1]
        with state.lock:
            state.positions = dict(book.positions)
            state.cash = book.cash
        yield system


async def _ask(system: InProcessSystem, subject: str, query: object, kind: Any) -> Any:
    return await request(system.runtimes["execution"].broker, subject, query, kind)


async def _reconcile(system: InProcessSystem, **query: Any) -> list[ReconcileReport]:
    return await _ask(system, subjects.EXECUTION_QUERY_RECONCILE, ReconcileQuery(**query), list[ReconcileReport])


async def _account(system: InProcessSystem, account_id: str = "demo") -> AccountState:
    bucket = await system.client.jetstream().key_value(subjects.KV_PORTFOLIOS)
    state, _ = await kvops.read(bucket, account_key(account_id), AccountState)
    assert state is not None
    return state


async def _settled(system: InProcessSystem) -> None:
    """Wait (bounded) until the post-run reconciliation has run: no run in flight any more."""
    bucket = await system.client.jetstream().key_value(subjects.KV_RECONCILE)
    async with asyncio.timeout(10):
        while True:
            try:
                keys = [k for k in await bucket.keys() if k.startswith("inflight.")]
            except Exception:  # NoKeysError: an empty bucket
                keys = []
            if not keys:
                return
            await asyncio.sleep(0.05)


async def test_a_live_run_executes_once_despite_duplicates_429s_and_timeouts(
    live: InProcessSystem, venue: tuple[str, AlpacaState], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = venue[1]
    original = ServiceRuntime.publish

    async def twice(self: ServiceRuntime, subject: str, message: object, *, msg_id: str, stream: str | None = None):  # type: ignore[no-untyped-def]
        await original(self, subject, message, msg_id=msg_id, stream=stream)
        await original(self, subject, message, msg_id=f"{msg_id}:again", stream=stream)  # a second delivery

    monkeypatch.setattr(ServiceRuntime, "publish", twice)
    state.fail_next("429", times=2)
    state.fail_next("slow", delay=0.6)  # an order placed whose answer is lost to the client's timeout
    state.fail_next("429", "GET", "/v2/orders:by_client_order_id")
    state.fail_next("500", "GET", "/v2/clock")
    accounts = ["demo", "demo-growth", "demo-ira"]
    run_ids = [await live.request_run(account, dry_run=False, force_rebalance=True) for account in accounts]
    records = [await live.wait_for_run(run_id) for run_id in run_ids]
    assert all(r.status == "completed" for r in records), [r.error for r in records]
    record = records[0]
    report = record.report
    assert report is not None and report.execution.executed and report.execution.broker == "alpaca"
    assert report.execution.unfilled == []
    # One order per trade at the broker, however often each was posted.
    trades = sum(len(r.report.execution.trades) for r in records if r.report)  # each run's fills
    assert len(report.actions) >= 2 and len(state.orders) == trades
    assert sum(1 for r in records if r.report and r.report.execution.trades) >= 2  # several accounts traded
    assert all(state.orders_of(cid) == 1 for cid in state.posts)
    assert state.requests.count("POST /v2/orders") > trades  # the 429s and the lost answer were retried
    assert "GET /v2/orders:by_client_order_id" in state.requests  # the timed-out order was looked up
    assert state.pushed >= len(state.orders)  # the execution service listened to trade_updates
    # The ledger took each fill once: the broker and the ledger agree.
    await _settled(live)
    (after,) = await _reconcile(live, account_id="demo")
    assert after.in_sync and not after.blocked, after.message


async def test_partial_fills_and_a_rejection_end_in_a_consistent_ledger_and_an_honest_report(
    live: InProcessSystem, venue: tuple[str, AlpacaState]
) -> None:
    state = venue[1]
    # A dry run shows the plan's trades; then one sell fills 60% and one buy is refused.
    planned = await live.wait_for_run(await live.request_run("demo", dry_run=True))
    assert planned.report is not None
    sells = [a for a in planned.report.actions if a.action == "sell"]
    buys = [a for a in planned.report.actions if a.action == "buy"]
    assert sells and len(buys) >= 2
    state.behave(sells[0].symbol, fill_ratio=Decimal("0.6"))
    state.behave(buys[0].symbol, reject=(403, 40310000, "asset is not fractionable"))
    before = await _account(live)
    record = await live.wait_for_run(await live.request_run("demo", dry_run=False))
    assert record.status == "completed", record.error
    assert record.report is not None and record.executed is True
    execution = record.report.execution
    unfilled = {u.symbol: u for u in execution.unfilled}
    partial = unfilled[sells[0].symbol]
    assert partial.status == "canceled" and 0 < partial.filled_shares < partial.planned_shares
    refused = unfilled[buys[0].symbol]
    assert refused.status == "rejected" and refused.filled_shares == 0
    assert "asset is not fractionable" in refused.reason
    assert any("sells raised" in e for e in execution.errors) or all(
        u.ordered_shares == u.planned_shares for u in execution.unfilled
    )
    # The ledger moved by exactly the fills: cash and shares.
    after = await _account(live)
    fills = execution.trades  # the fills, as the report lists them
    cash_change = sum(
        (
            settle(f.shares * f.execution_price - f.commission)
            if f.action == "sell"
            else -settle(f.shares * f.execution_price + f.commission)
        )
        for f in fills
    )  # each fill settles to the cent
    assert after.account.cash == before.account.cash + cash_change
    for fill in fills:
        held_before = sum((lot.shares for lot in before.account.lots if lot.symbol == fill.symbol), Decimal(0))
        held_after = sum((lot.shares for lot in after.account.lots if lot.symbol == fill.symbol), Decimal(0))
        assert held_after - held_before == (fill.shares if fill.action == "buy" else -fill.shares)
    await _settled(live)
    (check,) = await _reconcile(live, account_id="demo")
    assert check.in_sync, check.message


async def test_the_ledger_records_the_brokers_own_fees(live: InProcessSystem, venue: tuple[str, AlpacaState]) -> None:
    state = venue[1]
    state.sec_fee_rate, state.taf_per_share = Decimal("0.0000278"), Decimal("0.000166")  # Alpaca's REG and TAF fees
    for symbol in list(state.prices):
        state.behave(symbol, fill_ratio=Decimal("0.5"))  # half of each order fills, the rest is canceled
    before = await _account(live)
    record = await live.wait_for_run(await live.request_run("demo", dry_run=False, force_rebalance=True))
    assert record.status == "completed", record.error
    executions = await live.client.jetstream().key_value(subjects.KV_EXECUTIONS)
    result, _ = await kvops.read(executions, f"execution.{record.run_id}", ExecutionResult)
    assert result is not None
    sells = [f for f in result.fills if f.action == "sell"]
    assert sells and state.activities
    for fill in result.fills:  # each fill carries what the broker charged for its order, nothing else
        assert fill.commission == state.fees_of(fill.broker_order_id)
    assert sum(f.commission for f in sells) == -sum(Decimal(a["net_amount"]) for a in state.activities) > 0
    after = await _account(live)
    moved = sum(
        settle(f.value - f.commission) if f.action == "sell" else -settle(f.value + f.commission) for f in result.fills
    )
    assert after.account.cash == before.account.cash + moved
    await _settled(live)
    (check,) = await _reconcile(live, account_id="demo")
    assert check.in_sync, check.message  # the ledger's cash is the broker's, fees included


async def test_a_break_is_caught_alerts_and_stops_trading_until_cleared(
    live: InProcessSystem, venue: tuple[str, AlpacaState]
) -> None:
    state = venue[1]
    alerts: list[bytes] = []

    async def collect(msg: Any) -> None:
        alerts.append(msg.data)

    sub = await live.client.subscribe(subjects.NOTIFICATIONS_NOTIFY, cb=collect)
    breaks = REGISTRY.get_sample_value("rebalancer_reconcile_breaks_total", {"broker_account": "default"}) or 0
    with state.lock:
        state.positions["VTI"] -= Decimal(7)  # a corporate action or a manual trade the ledger never saw
    (found,) = await _reconcile(live, account_id="demo")
    assert not found.in_sync and found.blocked
    (vti,) = [d for d in found.differences if d.symbol == "VTI"]
    assert vti.ledger - vti.broker == 7
    assert "VTI: ledger" in found.message and "demo" in found.account_ids
    after = REGISTRY.get_sample_value("rebalancer_reconcile_breaks_total", {"broker_account": "default"})
    assert after == breaks + 1  # the metric
    await live.client.flush()
    async with asyncio.timeout(5):
        while not alerts:
            await asyncio.sleep(0.02)
    assert b"Reconciliation break" in alerts[0]
    await sub.unsubscribe()
    # Trading of the accounts concerned stops; nothing goes to the broker.
    record = await live.wait_for_run(await live.request_run("demo", dry_run=False))
    assert record.status == "failed" and "reconciliation break" in (record.error or "")
    assert state.posts == []
    # A person clears it; trading resumes.
    (cleared,) = await _reconcile(live, account_id="demo", clear=True, by="ops@example.com")
    assert cleared.cleared_by == "ops@example.com" and not cleared.blocked
    with state.lock:
        state.positions["VTI"] += Decimal(7)
    record = await live.wait_for_run(await live.request_run("demo", dry_run=False))
    assert record.status == "completed", record.error
    assert state.posts


async def test_no_orders_while_the_market_is_closed(live: InProcessSystem, venue: tuple[str, AlpacaState]) -> None:
    venue[1].is_open = False
    record = await live.wait_for_run(await live.request_run("demo", dry_run=False))
    assert record.status == "failed" and "market is closed" in (record.error or "")
    assert venue[1].posts == []


async def test_reconciliation_over_http_and_the_cli(
    live: InProcessSystem, venue: tuple[str, AlpacaState], alpaca_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    import cli.gateway_client
    from cli.main import app as cli_app
    from services.gateway.app import create_app

    state = venue[1]
    with state.lock:
        state.cash += Decimal("12.34")  # a fee the ledger never saw
    gateway = create_app(alpaca_settings)

    def session() -> tuple[list[Any], list[tuple[int, str]]]:
        with TestClient(gateway) as client:
            monkeypatch.setattr(cli.gateway_client.httpx, "Client", lambda **_: client)
            runner = CliRunner()
            answers = [
                client.get("/api/accounts/demo/reconcile").json(),
                client.get("/api/accounts/nobody/reconcile").status_code,
            ]
            cli_runs = [(r.exit_code, r.output) for r in (runner.invoke(cli_app, ["reconcile", "demo"]),)]
            answers.append(client.post("/api/accounts/demo/reconcile/clear", json={"by": "ops"}).json())
            cli_runs.append((lambda r: (r.exit_code, r.output))(runner.invoke(cli_app, ["reconcile", "--json"])))
            return answers, cli_runs

    answers, cli_runs = await asyncio.to_thread(session)
    found, unknown, cleared = answers
    assert found["inSync"] is False and found["blocked"] is True
    assert found["differences"] == [
        {"symbol": "$CASH", "ledger": found["differences"][0]["ledger"], "broker": found["differences"][0]["broker"]}
    ]
    assert Decimal(found["differences"][0]["broker"]) - Decimal(found["differences"][0]["ledger"]) == Decimal("12.34")
    assert unknown == 404
    assert cleared["clearedBy"] == "ops" and cleared["blocked"] is False
    code, output = cli_runs[0]
    assert code == 1 and "BREAK" in output and "$CASH" in output
    code, output = cli_runs[1]
    assert code == 1  # still out of sync (the cash differs), though no longer blocked
    assert '"blocked": false' in output


async def test_a_batch_trades_as_block_orders_allocated_exactly(
    alpaca_settings: Settings, venue: tuple[str, AlpacaState], monkeypatch: pytest.MonkeyPatch
) -> None:
    from contracts import BatchRequested, ExecutionResult, RebalanceRequest, batch_run_id, encode

    state = venue[1]
    original = ServiceRuntime.publish

    async def twice(self: ServiceRuntime, subject: str, message: object, *, msg_id: str, stream: str | None = None):  # type: ignore[no-untyped-def]
        await original(self, subject, message, msg_id=msg_id, stream=stream)
        await original(self, subject, message, msg_id=f"{msg_id}:again", stream=stream)  # every message twice

    monkeypatch.setattr(ServiceRuntime, "publish", twice)
    state.fail_next("429", times=2)
    state.fail_next("slow", delay=0.6)  # a block placed whose answer the client never gets
    state.fail_next("429", "GET", "/v2/positions")
    for symbol in list(state.prices):
        state.behave(symbol, fill_ratio=Decimal("0.7"), commission=Decimal("0.05"))  # every block fills 70%
    settings = alpaca_settings.model_copy(update={"block_orders": None})  # on by default with a real broker
    async with (
        trade_updates_server(state) as stream_url,
        running_system(settings.model_copy(update={"apca_api_stream_url": stream_url})) as system,
    ):
        (book,) = await _ask(system, subjects.PORTFOLIO_QUERY_BROKER_BOOK, BrokerBookQuery(), list[LedgerBook])
        with state.lock:
            state.positions, state.cash = dict(book.positions), book.cash
        accounts = ["demo", "demo-growth", "demo-ira"]
        batch_id = "nightly-blocks"
        message = BatchRequested(
            run_id=batch_id, message_id=batch_id, occurred_at=system.clock.now(), account_ids=accounts,
            request=RebalanceRequest(account_id=accounts[0], force_rebalance=True, dry_run=False),
            max_in_flight=1,  # planned one account at a time, traded as one block for the whole batch
        )  # fmt: skip
        await system.client.jetstream().publish(subjects.REBALANCE_BATCH_REQUESTED, encode(message))
        records = [await system.wait_for_run(batch_run_id(batch_id, a)) for a in accounts]
        assert all(r.status == "completed" for r in records), [r.error for r in records]
        executions = await system.client.jetstream().key_value(subjects.KV_EXECUTIONS)
        results = [(await kvops.read(executions, f"execution.{r.run_id}", ExecutionResult))[0] for r in records]
        fills = [f for result in results if result for f in result.fills]
        actions = [a for r in records if r.report for a in r.report.actions]
        # One order per symbol and side for the whole batch: fewer orders than trades.
        assert len({(o["side"], o["symbol"]) for o in state.orders.values()}) == len(state.orders)
        assert len(state.orders) < len(actions)
        sold = {a.symbol for a in actions if a.action == "sell"}
        assert {o["symbol"] for o in state.orders.values() if o["side"] == "sell"} == sold
        # The runs waited at execute-trades for the batch without any step deadline firing.
        assert all(r.step("execute-trades").attempts == 1 for r in records)
        for order in state.orders.values():
            allocated = [f for f in fills if f.broker_order_id == order["id"]]
            assert sum(f.shares for f in allocated) == Decimal(order["filled_qty"])  # exact allocation
            assert sum(f.commission for f in allocated) == Decimal(order["commission"])
            assert all(f.price == Decimal(order["filled_avg_price"]) for f in allocated)
        assert any(len({f.order_id for f in fills if f.broker_order_id == o["id"]}) > 1 for o in state.orders.values())
        assert all(state.orders_of(cid) == 1 for cid in state.posts)  # one order per block, however often sent
        assert state.requests.count("POST /v2/orders") > len(state.orders)  # the 429s and the lost answer
        assert all(r.report and r.report.execution.unfilled for r in records if r.report and r.report.execution.trades)
        await _settled(system)
        (check,) = await _reconcile(system, account_id="demo")
        assert check.in_sync, check.message


async def test_two_broker_accounts_each_trade_through_their_own_credentials(
    alpaca_settings: Settings,
    venue: tuple[str, AlpacaState],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from contracts import BatchRequested, RebalanceRequest, batch_run_id, encode

    first = venue[1]
    ira_key, ira_secret = "PKIRA0000000000000", "ira-s3cr3t-never-logged-9876543210"
    second = AlpacaState(
        key_id=ira_key, secret=ira_secret, prices=dict(first.prices), id_prefix="11111111-0000-4000-8000-"
    )
    household = json.loads(DEMO_HOUSEHOLD.read_text())
    for account in household["accounts"]:
        if account["account_id"] == "demo-ira":
            account["broker_account"] = "ira"  # its own broker account, with its own keys
    (tmp_path / "household.json").write_text(json.dumps(household))
    monkeypatch.setenv("IRA_APCA_KEY_ID", ira_key)
    monkeypatch.setenv("IRA_APCA_SECRET_KEY", ira_secret)
    with alpaca_server(second) as (second_url, _):
        (tmp_path / "brokers.json").write_text(
            json.dumps(
                {"ira": {"keyIdEnv": "IRA_APCA_KEY_ID", "secretKeyEnv": "IRA_APCA_SECRET_KEY", "baseUrl": second_url}}
            )
        )
        settings = alpaca_settings.model_copy(
            update={
                "household_file": tmp_path / "household.json",
                "broker_accounts_file": tmp_path / "brokers.json",
                "broker_stream": False,
            }
        )
        async with running_system(settings) as system:
            books = await _ask(system, subjects.PORTFOLIO_QUERY_BROKER_BOOK, BrokerBookQuery(), list[LedgerBook])
            for book in books:  # each broker account holds what the ledger says of its accounts
                state = first if book.broker_account == "default" else second
                with state.lock:
                    state.positions, state.cash = dict(book.positions), book.cash
            assert {b.broker_account: b.account_ids for b in books}["ira"] == ["demo-ira"]
            accounts = ["demo", "demo-ira"]
            message = BatchRequested(
                run_id="two-brokers", message_id="two-brokers", occurred_at=system.clock.now(), account_ids=accounts,
                request=RebalanceRequest(account_id=accounts[0], force_rebalance=True, dry_run=False),
            )  # fmt: skip
            await system.client.jetstream().publish(subjects.REBALANCE_BATCH_REQUESTED, encode(message))
            records = [await system.wait_for_run(batch_run_id("two-brokers", a)) for a in accounts]
            assert all(r.status == "completed" for r in records), [r.error for r in records]
            assert all(r.report and r.report.execution.trades for r in records)
            # Each account's orders went to its own broker account, with that account's keys.
            executions = await system.client.jetstream().key_value(subjects.KV_EXECUTIONS)
            demo, ira = [(await kvops.read(executions, f"execution.{r.run_id}", ExecutionResult))[0] for r in records]
            assert demo is not None and ira is not None and demo.fills and ira.fills
            assert {f.broker_order_id for f in ira.fills} <= {o["id"] for o in second.orders.values()}
            assert {f.broker_order_id for f in demo.fills} <= {o["id"] for o in first.orders.values()}
            assert len(second.orders) == len({(f.action, f.symbol) for f in ira.fills})  # its own block orders
            assert second.orders and first.orders
            await _settled(system)
            reports = await _reconcile(system)
            assert {r.broker_account: r.in_sync for r in reports} == {"default": True, "ira": True}, [
                r.message for r in reports
            ]
            answers = json.dumps([msgspec.to_builtins(r) for r in reports])
    captured = capfd.readouterr()
    for secret in (ira_secret, SECRET):  # never logged, never in an answer
        assert secret not in captured.out + captured.err and secret not in answers


async def test_a_run_refused_while_its_batch_waits_shrinks_the_block_and_the_others_trade(
    alpaca_settings: Settings, venue: tuple[str, AlpacaState], tmp_path: Path
) -> None:
    from contracts import BatchRecord, BatchRequested, RebalanceRequest, batch_key, batch_run_id, encode

    state = venue[1]
    household = json.loads(DEMO_HOUSEHOLD.read_text())
    for account in household["accounts"]:
        if account["account_id"] == "demo-ira":
            account["broker_account"] = "nowhere"  # no credentials for it here
    (tmp_path / "household.json").write_text(json.dumps(household))
    settings = alpaca_settings.model_copy(update={"household_file": tmp_path / "household.json"})
    async with (
        trade_updates_server(state) as stream_url,
        running_system(settings.model_copy(update={"apca_api_stream_url": stream_url})) as system,
    ):
        books = await _ask(system, subjects.PORTFOLIO_QUERY_BROKER_BOOK, BrokerBookQuery(), list[LedgerBook])
        (book,) = [b for b in books if b.broker_account == "default"]
        with state.lock:
            state.positions, state.cash = dict(book.positions), book.cash
        accounts = ["demo", "demo-growth", "demo-ira"]
        message = BatchRequested(
            run_id="one-refused", message_id="one-refused", occurred_at=system.clock.now(), account_ids=accounts,
            request=RebalanceRequest(account_id=accounts[0], force_rebalance=True, dry_run=False),
        )  # fmt: skip
        await system.client.jetstream().publish(subjects.REBALANCE_BATCH_REQUESTED, encode(message))
        records = {a: await system.wait_for_run(batch_run_id("one-refused", a)) for a in accounts}
        assert records["demo-ira"].status == "failed" and "'nowhere' has no credentials" in (
            records["demo-ira"].error or ""
        )
        assert records["demo"].status == records["demo-growth"].status == "completed"
        assert all(records[a].report and records[a].report.execution.executed for a in ("demo", "demo-growth"))  # type: ignore[union-attr]
        assert len({(o["side"], o["symbol"]) for o in state.orders.values()}) == len(state.orders)
        batches = await system.client.jetstream().key_value(subjects.KV_BATCHES)
        batch, _ = await kvops.read(batches, batch_key("one-refused"), BatchRecord)
        assert batch is not None and batch.states == "ccf" and batch.status == "completed"
