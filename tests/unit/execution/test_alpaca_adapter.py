"""The Alpaca adapter against the local Alpaca-like server: idempotent orders, rate limits, timeouts,
rejections with Alpaca's error bodies, partial fills followed to their end, the clock and calendar, and
credentials that never reach a log line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
import structlog

from services.execution.brokers import AlpacaBroker, BrokerAuthError, OrderRequest, follow_to_end
from shared.log import configure_logging
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, alpaca_server

D = Decimal


async def _no_wait(_: float) -> None:
    return None


@pytest.fixture
async def venue() -> AsyncIterator[tuple[AlpacaBroker, AlpacaState]]:
    state = AlpacaState(prices={"VTI": D("300.00"), "BND": D("72.50")}, cash=D("10000"), positions={"BND": D("40")})
    with alpaca_server(state) as (url, _):
        broker = AlpacaBroker(
            base_url=url, key_id=KEY_ID, secret_key=SECRET, timeout_seconds=0.3, max_retries=4, sleep=_no_wait
        )
        yield broker, state
        await broker.aclose()


def _order(cid: str = "run-1.t1", side: str = "buy", qty: str = "10", symbol: str = "VTI") -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol=symbol, side=side, qty=D(qty), reference_price=D("300"))  # type: ignore[arg-type]


async def test_a_market_order_fills_and_is_found_by_its_client_order_id(
    venue: tuple[AlpacaBroker, AlpacaState],
) -> None:
    broker, state = venue
    placed = await broker.submit(_order())
    assert placed.status == "filled" and placed.filled_qty == 10 and placed.filled_avg_price == D("300.00")
    found = await broker.order("run-1.t1")
    assert found is not None and found.id == placed.id
    assert await broker.order("nobody") is None
    assert state.cash == D("7000.00") and state.positions["VTI"] == 10


async def test_a_retried_order_is_never_placed_twice(venue: tuple[AlpacaBroker, AlpacaState]) -> None:
    broker, state = venue
    first = await broker.submit(_order())
    again = await broker.submit(_order())  # 422 "client_order_id must be unique" -> the order already placed
    assert again.id == first.id
    assert state.posts == ["run-1.t1", "run-1.t1"] and state.orders_of("run-1.t1") == 1
    assert state.positions["VTI"] == 10


async def test_429_is_retried_with_back_off(venue: tuple[AlpacaBroker, AlpacaState]) -> None:
    broker, state = venue
    state.fail_next("429", times=2)
    state.fail_next("429", "GET", "/v2/clock")
    placed = await broker.submit(_order())
    assert placed.status == "filled" and state.orders_of("run-1.t1") == 1
    assert (await broker.clock()).is_open is True
    assert broker.retries == 3


async def test_a_timed_out_order_is_looked_up_not_sent_again(venue: tuple[AlpacaBroker, AlpacaState]) -> None:
    broker, state = venue
    state.fail_next("slow", delay=0.6)  # Alpaca places the order; the answer comes after the client gave up
    placed = await broker.submit(_order())
    assert placed.status == "filled" and placed.filled_qty == 10
    assert state.orders_of("run-1.t1") == 1 and state.posts == ["run-1.t1"]
    assert "GET /v2/orders:by_client_order_id" in state.requests


async def test_refusals_come_back_as_rejected_orders_with_alpacas_message(
    venue: tuple[AlpacaBroker, AlpacaState],
) -> None:
    broker, state = venue
    poor = await broker.submit(_order(qty="100"))
    assert poor.status == "rejected" and "insufficient buying power" in poor.reason and "40310000" in poor.reason
    short = await broker.submit(_order(cid="run-1.t2", side="sell", qty="50", symbol="BND"))
    assert short.status == "rejected" and "insufficient qty available" in short.reason
    state.behave("VTI", reject=(422, 40010001, "asset VTI is not tradable"))
    halted = await broker.submit(_order(cid="run-1.t3"))
    assert halted.status == "rejected" and "not tradable" in halted.reason
    assert state.cash == D("10000")


async def test_a_partial_fill_is_followed_then_canceled(venue: tuple[AlpacaBroker, AlpacaState]) -> None:
    broker, state = venue
    state.behave("VTI", fill_ratio=D("0.4"), commission=D("1.25"))
    placed = await broker.submit(_order())
    assert placed.status == "partially_filled"
    final = await follow_to_end(broker, placed, polls=3, interval_seconds=0, sleep=_no_wait)
    assert final.status == "canceled" and final.filled_qty == 4 and final.commission == D("1.25")
    assert state.requests.count(f"GET /v2/orders/{placed.id}") >= 3
    assert f"DELETE /v2/orders/{placed.id}" in state.requests


async def test_clock_calendar_and_book(venue: tuple[AlpacaBroker, AlpacaState]) -> None:
    broker, state = venue
    state.is_open = False
    clock = await broker.clock()
    assert clock.is_open is False and clock.next_open is not None
    days = await broker.trading_days(date(2026, 5, 1), date(2026, 5, 5))
    assert days == [date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5)]
    book = await broker.book()
    assert book is not None and book.positions == {"BND": D("40")} and book.cash == D("10000")


async def test_wrong_credentials_are_an_error_that_names_no_secret() -> None:
    with alpaca_server() as (url, _):
        broker = AlpacaBroker(base_url=url, key_id=KEY_ID, secret_key="wrong-secret", sleep=_no_wait)
        with pytest.raises(BrokerAuthError) as caught:
            await broker.clock()
        await broker.aclose()
    assert "401" in str(caught.value) and "wrong-secret" not in str(caught.value)


async def test_the_secret_never_reaches_the_logs(
    venue: tuple[AlpacaBroker, AlpacaState], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from tests.fakes.alpaca_stream import trade_updates_server

    configure_logging("execution", level="DEBUG", json=True)
    caplog.set_level(logging.DEBUG)  # httpx and websockets log each request and frame at DEBUG
    broker, state = venue
    state.fail_next("429")
    state.fail_next("slow", delay=0.6)
    try:
        async with trade_updates_server(state) as url:
            assert await broker.listen(url)  # the stream's auth frame carries the secret
            await broker.submit(_order())
            await broker.submit(_order(cid="run-1.t2"))
            await broker.submit(_order(cid="run-1.t3", qty="1000"))
            await broker.aclose()
        captured = capsys.readouterr()
    finally:
        structlog.reset_defaults()  # the captured stream closes after this test
    text = captured.out + captured.err + caplog.text
    assert "alpaca request retried" in text or "looking it up" in text  # something was logged
    assert SECRET[:8] not in text  # not even the start of it (a logged frame is cut short)


async def test_fills_are_followed_by_the_trade_updates_stream(venue: tuple[AlpacaBroker, AlpacaState]) -> None:
    from tests.fakes.alpaca_stream import trade_updates_server

    broker, state = venue
    state.behave("VTI", fill_ratio=D(0))  # accepted, nothing filled yet
    async with trade_updates_server(state) as url:
        assert await broker.listen(url) and broker.streaming
        placed = await broker.submit(_order())
        assert placed.status == "new"
        follow = asyncio.create_task(follow_to_end(broker, placed, polls=3, interval_seconds=5.0))
        await asyncio.sleep(0)  # the follower waits on the stream
        await asyncio.to_thread(state.complete, placed.id)
        final = await asyncio.wait_for(follow, 4.0)  # long before a 5 s poll
    assert final.status == "filled" and final.filled_qty == 10 and final.filled_avg_price == D("300.00")
    assert f"GET /v2/orders/{placed.id}" not in state.requests  # learned from the stream, not by polling


async def test_a_stream_that_refuses_the_credentials_leaves_polling() -> None:
    from tests.fakes.alpaca_stream import trade_updates_server

    state = AlpacaState(prices={"VTI": D("300")}, cash=D("10000"))
    with alpaca_server(state) as (url, _):
        broker = AlpacaBroker(base_url=url, key_id=KEY_ID, secret_key="wrong", sleep=_no_wait)
        async with trade_updates_server(state) as stream:
            assert await broker.listen(stream) is False and not broker.streaming
        await broker.aclose()
