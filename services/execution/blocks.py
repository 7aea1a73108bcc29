"""Send block orders to a broker and allocate each block's fill back to its accounts.

One order per symbol and side across the accounts (sells first), its client order id derived from the
block's id, so a retry never places a second block. Each block is followed to its end like any order;
what filled is allocated with :func:`services.execution.domain.allocate_fill` (``rotation``: the batch's
counter, which rotates the tie-break of the remainder rule).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from contracts import Fill, UnfilledOrder
from services.execution.brokers import Broker, OrderRequest, client_order_id_for, follow_to_end
from services.execution.domain import BlockLeg, allocate_fill, block_orders
from services.execution.trading import OrderPolicy

__all__ = ["BlockOutcome", "trade_blocks"]


@dataclass(kw_only=True)
class BlockOutcome:
    fills: dict[str, list[Fill]] = field(default_factory=dict)
    """Each account's fills (its allocations), by account id."""
    unfilled: dict[str, list[UnfilledOrder]] = field(default_factory=dict)
    blocks: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    """(side, symbol, block quantity, filled) of every block sent."""


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
    for block in block_orders(legs):
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
            if got < leg.trade.shares:
                outcome.unfilled.setdefault(leg.account_id, []).append(
                    UnfilledOrder(
                        trade_id=leg.trade.trade_id,
                        symbol=block.symbol,
                        action=block.side,
                        planned=leg.trade.shares,
                        ordered=leg.trade.shares,
                        filled=got,
                        status=final.status,
                        reason=final.reason or f"the block filled {final.filled_qty} of {block.qty} ({final.status})",
                    )
                )
    return outcome
