"""trade_through: sells first, buys cut to the cash raised, whole shares where the account trades no
fractions, fractional orders as DAY market orders, and an honest account of what did not fill."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from contracts import Trade
from services.execution.brokers import AlpacaBroker, PaperBroker
from services.execution.domain import CostModel
from services.execution.trading import OrderPolicy, trade_through
from shared.clock import FixedClock
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, alpaca_server

D = Decimal
AT = datetime(2026, 5, 1, 14, tzinfo=UTC)
PRICES = {"VTI": D("300"), "BND": D("70")}


def _trade(trade_id: str, symbol: str, action: Literal["buy", "sell"], shares: str) -> Trade:
    qty = D(shares)
    return Trade(
        trade_id=trade_id, symbol=symbol, action=action, shares=qty, price=PRICES[symbol], value=qty * PRICES[symbol]
    )


async def _no_wait(_: float) -> None:
    return None


async def test_whole_shares_only_cuts_the_fraction_and_says_so() -> None:
    broker = PaperBroker(CostModel(half_spread_bps=D(0)), FixedClock(AT))
    trades = [_trade("t1", "VTI", "buy", "10.5"), _trade("t2", "BND", "buy", "0.4")]
    outcome = await trade_through(
        broker, trades, PRICES, run_id="r1", now=AT, policy=OrderPolicy(fractional=False), sleep=_no_wait
    )
    assert [(f.symbol, f.shares) for f in outcome.fills] == [("VTI", D(10))]
    reasons = {u.symbol: (u.status, u.ordered, u.reason) for u in outcome.unfilled}
    assert reasons["VTI"] == ("filled", D(10), "the broker account trades whole shares only: 0.5 not sent")
    assert reasons["BND"][0] == "not_sent" and "less than one" in reasons["BND"][2]


async def test_sells_go_first_and_a_partial_sell_cuts_the_buys_to_the_cash_raised() -> None:
    state = AlpacaState(prices=dict(PRICES), cash=D("0"), positions={"VTI": D(10)})
    state.behave("VTI", fill_ratio=D("0.5"))
    with alpaca_server(state) as (url, _):
        broker = AlpacaBroker(base_url=url, key_id=KEY_ID, secret_key=SECRET, sleep=_no_wait)
        trades = [_trade("t2", "BND", "buy", "40"), _trade("t1", "VTI", "sell", "10")]  # 3,000 -> 2,800 planned
        policy = OrderPolicy(fill_polls=1, poll_interval_seconds=0, allowance_bps=D(0))
        outcome = await trade_through(broker, trades, PRICES, run_id="r2", now=AT, policy=policy, sleep=_no_wait)
        await broker.aclose()
    assert [o["side"] for o in state.orders.values()] == ["sell", "buy"]
    bnd = next(f for f in outcome.fills if f.symbol == "BND")
    assert bnd.shares == 18 and bnd.shares * bnd.price <= D(1500)  # 1,500 short of 3,000: 40 x 1,300/2,800, floored
    unfilled = {u.symbol: u for u in outcome.unfilled}
    assert unfilled["VTI"].status == "canceled" and unfilled["VTI"].filled == 5
    assert unfilled["BND"].ordered == 18 and "cut to the cash the sells raised" in unfilled["BND"].reason
    assert any("raised 1500.00 less than planned" in e for e in outcome.errors)


async def test_a_fractional_order_goes_as_a_day_market_order_even_when_limits_are_configured() -> None:
    state = AlpacaState(prices=dict(PRICES), cash=D("10000"))
    with alpaca_server(state) as (url, _):
        broker = AlpacaBroker(base_url=url, key_id=KEY_ID, secret_key=SECRET, sleep=_no_wait)
        policy = OrderPolicy(order_type="limit", time_in_force="gtc", fractional=True, fill_polls=0)
        trades = [_trade("t1", "VTI", "buy", "2.5"), _trade("t2", "BND", "buy", "3")]
        outcome = await trade_through(broker, trades, PRICES, run_id="r3", now=AT, policy=policy, sleep=_no_wait)
        await broker.aclose()
    sent = {o["symbol"]: (o["type"], o["time_in_force"], o["limit_price"]) for o in state.orders.values()}
    assert sent == {"VTI": ("market", "day", None), "BND": ("limit", "gtc", "70.14")}
    assert {f.symbol: f.shares for f in outcome.fills} == {"VTI": D("2.5"), "BND": D(3)}
