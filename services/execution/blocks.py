"""Send block orders to a broker and allocate each block's fill back to its accounts.

One order per symbol and side across the accounts, its client order id derived from the block's id, so
a retry never places a second block. Each block is followed to its end like any order; what filled is
allocated with :func:`services.execution.domain.allocate_fill` (``rotation`` rotates the tie-break of the
remainder rule).

Sells before buys, and buys sized to the cash the sells actually raised, per account, as a single run
does (:mod:`services.execution.trading`): the sell blocks are traded and allocated first; each account's
cash raised is the sum of its own allocations (shares x the block's average price, less its share of the
block's fees); its buys are cut by :func:`services.execution.domain.size_buys` when that falls short of
what its plan counted on (a sell block that filled in part, slippage); the buy blocks are then formed
from the sized buys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

import msgspec

from contracts import Fill, UnfilledOrder
from services.execution.brokers import Broker, OrderRequest, client_order_id_for, follow_to_end
from services.execution.domain import BlockLeg, BlockOrder, allocate_fill, block_orders, cash_shortfall, size_buys
from services.execution.trading import OrderPolicy
from shared.money import ZERO

__all__ = ["BlockOutcome", "trade_blocks"]

_CENT = Decimal("0.01")


@dataclass(kw_only=True)
class BlockOutcome:
    fills: dict[str, list[Fill]] = field(default_factory=dict)
    """Each account's fills (its allocations), by account id."""
    unfilled: dict[str, list[UnfilledOrder]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    """Each account's notes beyond its unfilled orders (its buys cut to the cash its sells raised)."""
    blocks: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    """(side, symbol, block quantity, filled) of every block sent."""

    def merge(self, other: BlockOutcome) -> None:
        """Add ``other``'s accounts (the blocks of another broker account)."""
        for account, fills in other.fills.items():
            self.fills.setdefault(account, []).extend(fills)
        for account, unfilled in other.unfilled.items():
            self.unfilled.setdefault(account, []).extend(unfilled)
        for account, errors in other.errors.items():
            self.errors.setdefault(account, []).extend(errors)
        self.blocks.extend(other.blocks)


async def trade_blocks(
    broker: Broker,
    legs: Sequence[BlockLeg],
    prices: Mapping[str, Decimal],
    *,
    block_id: str,
    rotation: int,
    policy: OrderPolicy,
    now: datetime,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BlockOutcome:
    outcome = BlockOutcome()
    planned = {(leg.account_id, leg.trade.trade_id): leg.trade.shares for leg in legs}

    async def trade(block: BlockOrder) -> None:
        request = OrderRequest(
            client_order_id=client_order_id_for(f"{block_id}.{block.side}.{block.symbol}"),
            symbol=block.symbol,
            side=block.side,
            qty=block.qty,
            reference_price=prices[block.symbol],
        )
        placed = await broker.submit(request)
        final = await follow_to_end(
            broker, placed, polls=policy.fill_polls, interval_seconds=policy.poll_interval_seconds, sleep=sleep
        )
        outcome.blocks.append((block.side, block.symbol, block.qty, final.filled_qty))
        allocated: Mapping[str, Fill | None] = {}
        if final.filled_qty > 0 and final.filled_avg_price is not None:
            allocated = allocate_fill(
                block,
                filled=final.filled_qty,
                average_price=final.filled_avg_price,
                fees=final.commission,
                rotation=rotation,
                broker_order_id=final.id,
                filled_at=final.filled_at or now,
            )
        for leg in block.legs:
            fill = allocated.get(leg.account_id)
            if fill is not None:
                outcome.fills.setdefault(leg.account_id, []).append(fill)
            got = fill.shares if fill is not None else Decimal(0)
            wanted = planned[(leg.account_id, leg.trade.trade_id)]
            if got < wanted:
                outcome.unfilled.setdefault(leg.account_id, []).append(
                    UnfilledOrder(
                        trade_id=leg.trade.trade_id,
                        symbol=block.symbol,
                        action=block.side,
                        planned=wanted,
                        ordered=leg.trade.shares,
                        filled=got,
                        status=final.status,
                        reason=(final.reason or f"the block filled {final.filled_qty} of {block.qty} ({final.status})")
                        if got < leg.trade.shares
                        else "cut to the cash the sells raised (see the sells not filled)",
                    )
                )

    sells = [leg for leg in legs if leg.trade.action == "sell"]
    for block in block_orders(sells):
        await trade(block)
    for block in block_orders(_sized_buys(legs, prices, outcome, policy)):
        await trade(block)
    return outcome


def _sized_buys(
    legs: Sequence[BlockLeg], prices: Mapping[str, Decimal], outcome: BlockOutcome, policy: OrderPolicy
) -> list[BlockLeg]:
    """Each account's buys sized to the cash its own sell allocations raised; a buy cut to nothing is
    reported as not sent."""
    sized: list[BlockLeg] = []
    accounts = sorted({leg.account_id for leg in legs if leg.trade.action == "buy"})
    for account in accounts:
        sells = [leg.trade for leg in legs if leg.account_id == account and leg.trade.action == "sell"]
        buys = [leg for leg in legs if leg.account_id == account and leg.trade.action == "buy"]
        raised = sum((f.value - f.commission for f in outcome.fills.get(account, []) if f.action == "sell"), ZERO)
        shortfall = cash_shortfall(sells, prices, raised, allowance_bps=policy.allowance_bps)
        shares = size_buys([leg.trade for leg in buys], prices, shortfall, allowance_bps=policy.allowance_bps)
        if shortfall > 0:
            outcome.errors.setdefault(account, []).append(
                f"the sells raised {shortfall.quantize(_CENT)} less than planned: buys cut to the cash raised"
            )
        for leg in buys:
            qty = shares[leg.trade.trade_id]
            if qty > 0:
                sized.append(replace(leg, trade=msgspec.structs.replace(leg.trade, shares=qty)))
                continue
            outcome.unfilled.setdefault(account, []).append(
                UnfilledOrder(
                    trade_id=leg.trade.trade_id,
                    symbol=leg.trade.symbol,
                    action="buy",
                    planned=leg.trade.shares,
                    ordered=ZERO,
                    filled=ZERO,
                    status="not_sent",
                    reason="no cash for it: the sells raised less than planned",
                )
            )
    return sized
