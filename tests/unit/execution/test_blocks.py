"""Block orders: one order per symbol and side, fills allocated back exactly (against the local
Alpaca-like server, with a partial fill and fees)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from contracts import Trade
from services.execution.blocks import BlockOutcome, trade_blocks
from services.execution.brokers import AlpacaBroker
from services.execution.domain import BlockLeg, allocate_fill, block_orders
from services.execution.trading import OrderPolicy
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, alpaca_server

D = Decimal
AT = datetime(2026, 5, 1, 14, tzinfo=UTC)


def _leg(account: str, symbol: str, action: str, shares: str) -> BlockLeg:
    trade = Trade(
        trade_id=f"t-{symbol}-{action}",
        symbol=symbol,
        action=action,  # type: ignore[arg-type]
        shares=D(shares),
        price=D(100),
        value=D(shares) * 100,
    )
    return BlockLeg(account_id=account, run_id=f"run-{account}", trade=trade)


LEGS = [
    _leg("a", "VTI", "buy", "10"),
    _leg("b", "VTI", "buy", "7"),
    _leg("c", "VTI", "buy", "3"),
    _leg("a", "BND", "sell", "40"),
    _leg("c", "BND", "sell", "20"),
]


def test_one_block_per_symbol_and_side_sells_first() -> None:
    blocks = block_orders(LEGS)
    assert [(b.side, b.symbol, b.qty, [leg.account_id for leg in b.legs]) for b in blocks] == [
        ("sell", "BND", D(60), ["a", "c"]),
        ("buy", "VTI", D(20), ["a", "b", "c"]),
    ]


@given(
    st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=6),
    st.data(),
    st.integers(min_value=0, max_value=5000),
    st.integers(min_value=0, max_value=50),
)
def test_allocations_sum_exactly_to_the_blocks_fill_and_fees(
    asks: list[int], data: st.DataObject, fee_cents: int, rotation: int
) -> None:
    legs = [_leg(f"acct-{i}", "VTI", "buy", str(q)) for i, q in enumerate(asks)]
    (block,) = block_orders(legs)
    filled = D(data.draw(st.integers(min_value=1, max_value=int(block.qty))))
    fees = D(fee_cents) / 100
    allocated = allocate_fill(
        block,
        filled=filled,
        average_price=D("101.37"),
        fees=fees,
        rotation=rotation,
        broker_order_id="b-1",
        filled_at=AT,
    )
    fills = {a: f for a, f in allocated.items() if f is not None}
    assert sum(f.shares for f in fills.values()) == filled
    assert sum(f.commission for f in fills.values()) == fees
    for account, fill in fills.items():
        assert fill.price == D("101.37") and 0 < fill.shares <= D(asks[int(account.removeprefix("acct-"))])


async def _no_wait(_: float) -> None:
    return None


async def _trade_once(
    state: AlpacaState, legs: list[BlockLeg], prices: dict[str, Decimal], block_id: str
) -> BlockOutcome:
    """One block trade of ``legs`` against a local Alpaca-like server holding ``state``."""
    with alpaca_server(state) as (url, _):
        broker = AlpacaBroker(base_url=url, key_id=KEY_ID, secret_key=SECRET, sleep=_no_wait)
        outcome = await trade_blocks(
            broker,
            legs,
            prices,
            block_id=block_id,
            rotation=0,
            policy=OrderPolicy(fill_polls=1, poll_interval_seconds=0),
            now=AT,
            sleep=_no_wait,
        )
        await broker.aclose()
    return outcome


async def test_blocks_through_the_broker_allocate_a_partial_fill_exactly() -> None:
    state = AlpacaState(prices={"VTI": D("300"), "BND": D("72")}, cash=D("100000"), positions={"BND": D("60")})
    state.behave("VTI", fill_ratio=D("0.75"), commission=D("1.00"))  # 15 of 20 shares
    with alpaca_server(state) as (url, _):
        broker = AlpacaBroker(base_url=url, key_id=KEY_ID, secret_key=SECRET, sleep=_no_wait)
        policy = OrderPolicy(fill_polls=1, poll_interval_seconds=0)
        outcome = await trade_blocks(
            broker,
            LEGS,
            {"VTI": D("300"), "BND": D("72")},
            block_id="batch-7",
            rotation=7,
            policy=policy,
            now=AT,
            sleep=_no_wait,
        )
        again = await trade_blocks(
            broker,
            LEGS,
            {"VTI": D("300"), "BND": D("72")},
            block_id="batch-7",
            rotation=7,
            policy=policy,
            now=AT,
            sleep=_no_wait,
        )
        await broker.aclose()
    assert len(state.orders) == 2  # one per symbol and side; the retry placed nothing new
    assert outcome.blocks == [("sell", "BND", D(60), D(60)), ("buy", "VTI", D(20), D(15))]
    vti = {a: f.shares for a, fills in outcome.fills.items() for f in fills if f.symbol == "VTI"}
    assert sum(vti.values()) == 15 and vti["a"] <= 10 and vti["b"] <= 7 and vti["c"] <= 3
    assert vti == {"a": D(8), "b": D(5), "c": D(2)}  # quotas 7.5, 5.25, 2.25: the .5 remainder goes to a
    fees = sum(f.commission for fills in outcome.fills.values() for f in fills if f.symbol == "VTI")
    assert fees == D("1.00")
    assert {u.symbol for us in outcome.unfilled.values() for u in us} == {"VTI"}
    assert outcome.fills == again.fills


async def test_block_buys_are_sized_to_the_cash_each_accounts_sell_allocation_raised() -> None:
    # a and c sell BND in one block that fills only half; a and b buy VTI with the proceeds they planned.
    legs = [
        _leg("a", "BND", "sell", "40"),  # 40 x 100 planned; gets about half
        _leg("c", "BND", "sell", "20"),
        _leg("a", "VTI", "buy", "10"),  # a's buys counted on its sells: cut
        _leg("b", "VTI", "buy", "7"),  # b sells nothing: its buy stays whole
        _leg("c", "GLD", "buy", "5"),
    ]
    prices = {"VTI": D("100"), "BND": D("100"), "GLD": D("100")}
    state = AlpacaState(prices=dict(prices), cash=D("100000"), positions={"BND": D("60")})
    state.behave("BND", fill_ratio=D("0.5"), commission=D("0.60"))  # 30 of 60 shares
    outcome = await _trade_once(state, legs, prices, "batch-9")
    bnd = {a: f for a, fills in outcome.fills.items() for f in fills if f.symbol == "BND"}
    assert {a: f.shares for a, f in bnd.items()} == {"a": D(20), "c": D(10)}
    assert sum(f.commission for f in bnd.values()) == D("0.60")
    # a raised 20 x 100 - 0.40 of the 40 x 100 x (1 - 25 bp) = 3990 planned: short 1990.40 of its 10 x 100 x
    # (1 + 25 bp) = 1002.50 of buys: nothing left for VTI; c likewise (raised 999.80 of 1995 planned).
    a_raised = bnd["a"].value - bnd["a"].commission
    assert a_raised == D("1999.60")
    vti_block = next(b for b in outcome.blocks if b[1] == "VTI")
    assert vti_block == ("buy", "VTI", D(7), D(7))  # only b's buy went out
    assert {u.symbol: (u.status, u.ordered) for u in outcome.unfilled["a"]} == {
        "BND": ("canceled", D(40)),
        "VTI": ("not_sent", D(0)),
    }
    assert "GLD" not in {b[1] for b in outcome.blocks}
    assert any("buys cut to the cash raised" in e for e in outcome.errors["a"])
    assert "b" not in outcome.errors


async def test_a_block_buy_partly_cut_keeps_what_the_cash_covers() -> None:
    legs = [_leg("a", "BND", "sell", "10"), _leg("a", "VTI", "buy", "10"), _leg("b", "VTI", "buy", "10")]
    prices = {"VTI": D("100"), "BND": D("100")}
    state = AlpacaState(prices=dict(prices), cash=D("100000"), positions={"BND": D("10")})
    state.behave("BND", fill_ratio=D("0.6"))  # a raises 600 of its 997.50 planned: short 397.50
    outcome = await _trade_once(state, legs, prices, "batch-10")
    # a's 10 x 100 x 1.0025 = 1002.50 of buys less 397.50: factor 605/1002.5, floored to 6 shares.
    vti = {a: f.shares for a, fills in outcome.fills.items() for f in fills if f.symbol == "VTI"}
    assert vti == {"a": D(6), "b": D(10)}
    assert next(b for b in outcome.blocks if b[1] == "VTI") == ("buy", "VTI", D(16), D(16))
    (cut,) = [u for u in outcome.unfilled["a"] if u.symbol == "VTI"]
    assert (cut.planned, cut.ordered, cut.filled) == (D(10), D(6), D(6))
