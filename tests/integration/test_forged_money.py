"""No forged message moves money, on a real nats-server: the ledger applies only fills that match
orders execution recorded, at plausible prices, and execution never sells shares the account does not
hold. (A step result from a service that does not own the step: tests/integration/test_hostile_messages.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
import pytest
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from contracts import (
    ApplyFills,
    ExecuteTrades,
    ExecutionResult,
    Fill,
    LotSale,
    Trade,
    TradesExecuted,
    decode_as,
    encode,
    subjects,
)
from services.portfolio.domain import AccountState, account_key
from shared.bus import kv as kvops
from shared.bus.dlq import DLQ_REASON_HEADER
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration

AT = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)
AS_OF = date(2026, 5, 1)


async def _account(system: InProcessSystem) -> AccountState:
    bucket = await system.client.jetstream().key_value(subjects.KV_PORTFOLIOS)
    state, _ = await kvops.read(bucket, account_key("demo"), AccountState)
    assert state is not None
    return state


async def _refused(system: InProcessSystem, command: ApplyFills) -> str:
    js = system.client.jetstream()
    dlq = await js.subscribe(
        subjects.dlq_subject(subjects.PORTFOLIO_APPLY_FILLS),
        stream=subjects.STREAM_DLQ,
        deliver_policy=DeliverPolicy.NEW,
    )
    try:
        await js.publish(subjects.PORTFOLIO_APPLY_FILLS, encode(command), headers={"Nats-Msg-Id": command.message_id})
        message = await dlq.next_msg(timeout=20)
    finally:
        await dlq.unsubscribe()
    assert message.headers is not None
    return message.headers[DLQ_REASON_HEADER]


def _buy(run_id: str, trade_id: str, shares: str, price: str) -> tuple[Trade, Fill]:
    value = Decimal(shares) * Decimal(price)
    trade = Trade(trade_id=trade_id, symbol="VTI", action="buy", shares=Decimal(shares), price=Decimal(price),
                  value=value)  # fmt: skip
    fill = Fill(order_id=f"{run_id}.{trade_id}", trade_id=trade_id, symbol="VTI", action="buy", shares=Decimal(shares),
                price=Decimal(price), commission=Decimal(0), value=value, filled_at=AT)  # fmt: skip
    return trade, fill


def _apply(run_id: str, trades: list[Trade], fills: list[Fill], tag: str) -> ApplyFills:
    return ApplyFills(run_id=run_id, message_id=f"{run_id}:update-portfolio:{tag}", occurred_at=AT,
                      step="update-portfolio", account_id="demo", as_of=AS_OF, trades=trades, fills=fills)  # fmt: skip


async def test_a_forged_fill_for_no_recorded_order_moves_nothing(system: InProcessSystem) -> None:
    """1,000,000 VTI for $1: no order, no execution; the ledger is untouched."""
    before = await _account(system)
    run_id = str(uuid.uuid4())
    trade, fill = _buy(run_id, "t1", "1000000", "0.000001")
    reason = await _refused(system, _apply(run_id, [trade], [fill], "1"))
    assert reason == (
        f"refused portfolio.v1.cmd.apply-fills message: run {run_id} has no recorded execution: "
        "its fills are not execution's"
    )
    after = await _account(system)
    assert after.account.cash == before.account.cash and after.account.lots == before.account.lots
    assert run_id not in after.applied_runs


async def test_fills_that_differ_from_the_recorded_orders_are_refused(system: InProcessSystem) -> None:
    """A real executed run: its fills re-sent at another price, for more shares, or for another trade."""
    record = await system.wait_for_run(await system.request_run("demo", dry_run=False))
    assert record.status == "completed" and record.executed is True
    executions = await system.client.jetstream().key_value(subjects.KV_EXECUTIONS)
    execution, _ = await kvops.read(executions, f"execution.{record.run_id}", ExecutionResult)
    assert execution is not None
    real = next(f for f in execution.fills if f.action == "buy")
    trades = [
        Trade(trade_id=f.trade_id, symbol=f.symbol, action=f.action, shares=f.shares, price=f.price, value=f.value)
        for f in execution.fills
    ]
    before = await _account(system)
    cases = {
        "price": (msgspec.structs.replace(real, price=Decimal("0.000001")), "price outside 5% of the order's"),
        "shares": (msgspec.structs.replace(real, shares=real.shares + 1), "shares filled, "),
        "commission": (msgspec.structs.replace(real, commission=Decimal("-100")), "commission -100 is not within"),
        "symbol": (msgspec.structs.replace(real, symbol="BND"), f"the order is to buy {real.symbol}"),
        "order": (
            msgspec.structs.replace(real, trade_id="zz-9", order_id=f"{record.run_id}.zz-9"), "recorded no order"
        ),
    }  # fmt: skip
    for tag, (forged, expected) in cases.items():
        reason = await _refused(system, _apply(record.run_id, trades, [forged], tag))
        assert expected in reason, (tag, reason)
    after = await _account(system)
    assert after.account.cash == before.account.cash and after.account.lots == before.account.lots


async def test_execution_refuses_a_sell_of_shares_the_account_does_not_hold(system: InProcessSystem) -> None:
    """The demo account holds 200 BND: a sell of 1,000 is rejected, no order is placed."""
    results: list[Msg] = []
    arrived = asyncio.Event()

    async def collect(message: Msg) -> None:
        results.append(message)
        arrived.set()

    sub = await system.client.subscribe(subjects.EXECUTION_EXECUTED, cb=collect)
    run_id = str(uuid.uuid4())
    sell = Trade(trade_id="t1", symbol="BND", action="sell", shares=Decimal(1000), price=Decimal("73.36"),
                 value=Decimal("73360"), lots=[LotSale(lot_id="demo-bnd-1", shares=Decimal(1000))])  # fmt: skip
    held = Trade(trade_id="t2", symbol="VNQ", action="sell", shares=Decimal(10), price=Decimal("96.06"),
                 value=Decimal("960.6"))  # fmt: skip
    command = ExecuteTrades(run_id=run_id, message_id=f"{run_id}:execute-trades:1", occurred_at=AT,
                            step="execute-trades", account_id="demo", as_of=AS_OF, trades=[sell, held],
                            prices={"BND": Decimal("73.36"), "VNQ": Decimal("96.06")}, dry_run=False)  # fmt: skip
    await system.client.jetstream().publish(
        subjects.EXECUTION_EXECUTE, encode(command), headers={"Nats-Msg-Id": command.message_id}
    )
    async with asyncio.timeout(20):
        await arrived.wait()
    await sub.unsubscribe()
    result = decode_as(results[0].data, TradesExecuted).result
    assert [f.symbol for f in result.fills] == ["VNQ"]  # the covered sell goes through
    assert result.errors == [
        "Failed to execute sell for BND: sell of 1000 BND exceeds the 200 shares the account holds"
    ]
    orders = await system.client.jetstream().key_value(subjects.KV_ORDERS)
    keys = [k for k in await orders.keys() if k.startswith(f"order.{run_id}.")]
    assert keys == [f"order.{run_id}.t2"]
