"""Follow an order to its end by polling the broker (the adapter's way of learning of fills).

An order still open after ``polls`` checks is canceled; its filled quantity then is final.
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
    """``order`` once terminal: polled up to ``polls`` times, ``interval_seconds`` apart, then canceled."""
    current = order
    for _ in range(polls):
        if current.terminal:
            return current
        await sleep(interval_seconds)
        current = await broker.refresh(current)
    if current.terminal:
        return current
    canceled = await broker.cancel(current)
    if not canceled.terminal:  # pending_cancel: give the broker a last look
        canceled = await broker.refresh(canceled)
    return canceled
