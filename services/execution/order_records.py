"""KV ``orders``: each order's fill, written once under its order id (``order.<run_id>.<trade_id>``).

The ledger applies a fill only when it matches the order recorded here (services/portfolio's
``fill_checks``), so every path that fills orders (one run's trades, a batch's block orders) records them.
"""

from __future__ import annotations

from collections.abc import Sequence

from nats.js.kv import KeyValue

from contracts import Fill
from shared.bus import kv as kvops

__all__ = ["record_fills"]


async def record_fills(orders: KeyValue, fills: Sequence[Fill]) -> list[Fill]:
    """Write each fill under its order id; a concurrent delivery keeps the first (returned instead)."""
    recorded = []
    for fill in fills:
        order_key = f"order.{fill.order_id}"
        if await kvops.create(orders, order_key, fill) is None:
            existing, _ = await kvops.read(orders, order_key, Fill)
            fill = existing or fill
        recorded.append(fill)
    return recorded
