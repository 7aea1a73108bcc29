"""Which fills the ledger may apply: only those that match an order the execution service recorded.

The ledger trusts no fill by its payload. A fill is applied only when KV ``orders`` holds the order it
claims (``order.<run_id>.<trade_id>``, written by execution alone): the same run, symbol and side, no
more shares than ordered (all fills of the order together), a price within ``tolerance`` of the
order's recorded price, a commission no larger than the order's; and when KV ``executions`` holds the
run's execution. Anything else is refused with the reason (the message goes to the DLQ).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from contracts import Fill, Trade

__all__ = ["fills_problem", "order_key"]


def order_key(run_id: str, trade_id: str) -> str:
    """The KV ``orders`` key of a run's trade (execution's client order id is ``<run_id>.<trade_id>``)."""
    return f"order.{run_id}.{trade_id}"


def fills_problem(
    *,
    run_id: str,
    fills: Sequence[Fill],
    trades: Sequence[Trade],
    orders: Mapping[str, Fill | None],
    executed: bool,
    tolerance: Decimal,
) -> str | None:
    """Why ``fills`` of run ``run_id`` cannot be applied, or ``None``.

    ``orders`` maps each fill's :func:`order_key` to the order execution recorded (``None``: none);
    ``executed`` says whether KV ``executions`` holds an executed result for the run.
    """
    if fills and not executed:
        return f"run {run_id} has no recorded execution: its fills are not execution's"
    planned = {t.trade_id: t for t in trades}
    filled: dict[str, Decimal] = {}
    for fill in fills:
        key = order_key(run_id, fill.trade_id)
        order = orders.get(key)
        name = f"fill of {fill.trade_id} ({fill.action} {fill.shares} {fill.symbol} at {fill.price})"
        if fill.simulated:
            return f"{name}: a simulated fill is never applied"
        if fill.order_id != f"{run_id}.{fill.trade_id}":
            return f"{name}: order {fill.order_id!r} is not this run's order for the trade"
        if order is None or order.simulated:
            return f"{name}: execution recorded no order {key!r}"
        if (order.symbol, order.action) != (fill.symbol, fill.action):
            return f"{name}: the order is to {order.action} {order.symbol}"
        trade = planned.get(fill.trade_id)
        if trade is None or (trade.symbol, trade.action) != (fill.symbol, fill.action):
            return f"{name}: no such trade in the run's plan"
        if not (fill.shares.is_finite() and fill.shares > 0):
            return f"{name}: shares must be positive"
        filled[key] = filled.get(key, Decimal(0)) + fill.shares
        if filled[key] > order.shares:
            return f"{name}: {filled[key]} shares filled, {order.shares} ordered"
        if not (fill.price.is_finite() and abs(fill.price - order.price) <= order.price * tolerance):
            return f"{name}: price outside {tolerance:%} of the order's {order.price}"
        if not (fill.commission.is_finite() and 0 <= fill.commission <= order.commission):
            return f"{name}: commission {fill.commission} is not within 0 and the order's {order.commission}"
    return None
