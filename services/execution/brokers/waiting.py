"""Follow an order to its end: the broker's pushed updates (Alpaca's ``trade_updates`` stream) when it has
them, else polling.

Each of up to ``polls`` rounds waits ``interval_seconds`` for a pushed update, and polls when none came.
An order still open after the last round is canceled; its filled quantity then is final. The order is
returned with every charge the broker reports for it in ``commission`` (:meth:`Broker.with_fees`: Alpaca's
FEE account activities of the order), so the ledger records the broker's own fees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from services.execution.brokers.base import Broker
from services.execution.brokers.orders import BrokerOrder

__all__ = ["follow_to_end"]


async def follow_to_end(
    broker: Broker,
    order: BrokerOrder,
    *,
    polls: int,
    interval_seconds: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BrokerOrder:
    """``order`` once terminal (polled up to ``polls`` times, ``interval_seconds`` apart, then canceled),
    with its fees."""
    final = await _terminal(broker, order, polls=polls, interval_seconds=interval_seconds, sleep=sleep)
    return await broker.with_fees(final) if final.filled_qty > 0 else final


async def _terminal(
    broker: Broker,
    order: BrokerOrder,
    *,
    polls: int,
    interval_seconds: float,
    sleep: Callable[[float], Awaitable[None]],
) -> BrokerOrder:
    current = order
    for _ in range(polls):
        if current.terminal:
            return current
        pushed = await broker.next_update(current, interval_seconds)
        if pushed is not None:
            current = pushed
            continue
        if not broker.streaming:  # a streaming broker has waited in next_update already
            await sleep(interval_seconds)
        current = await broker.refresh(current)
    if current.terminal:
        return current
    canceled = await broker.cancel(current)
    if not canceled.terminal:  # pending_cancel: give the broker a last look
        canceled = await broker.refresh(canceled)
    return canceled
