"""Send a run's trades to a broker: sells first, then buys sized to the cash the sells raised.

Each trade is one order whose client order id derives from (run, trade), so a redelivered command or a
retried request finds the order already placed instead of placing a second one. Orders are followed to
their end by polling; what did not fill (rejected, canceled, expired, cut to the cash raised, never
sent) is reported with the broker's status and reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from contracts import Fill, Trade, UnfilledOrder
from services.execution.brokers import Broker, BrokerOrder, OrderRequest, client_order_id_for, follow_to_end
from services.execution.domain import cash_shortfall, order_id_for, size_buys
from shared.log import get_logger
from shared.money import ZERO

__all__ = ["OrderPolicy", "TradingOutcome", "trade_through"]

log = get_logger("execution.trading")

_BPS = Decimal(10_000)
_PRICE = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPolicy:
    order_type: str = "market"
    time_in_force: str = "day"
    limit_bps: Decimal = Decimal(20)
    allowance_bps: Decimal = Decimal(25)
    fill_polls: int = 60
    poll_interval_seconds: float = 1.0
    fractional: bool = True
    """The broker account may trade fractional shares; else every order is cut to whole shares."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingOutcome:
    fills: list[Fill]
    unfilled: list[UnfilledOrder]
    errors: list[str]


def _request(trade: Trade, run_id: str, qty: Decimal, price: Decimal, policy: OrderPolicy) -> OrderRequest:
    limit: Decimal | None = None
    if policy.order_type == "limit":
        shift = policy.limit_bps / _BPS
        limit = (price * (1 + shift if trade.action == "buy" else 1 - shift)).quantize(_PRICE)
    fraction = qty != qty.to_integral_value()
    return OrderRequest(
        client_order_id=client_order_id_for(order_id_for(run_id, trade.trade_id)),
        symbol=trade.symbol,
        side=trade.action,
        qty=qty,
        reference_price=price,
        # Alpaca takes fractional quantities only as DAY market orders.
        type="limit" if policy.order_type == "limit" and not fraction else "market",
        time_in_force="day" if fraction else policy.time_in_force,  # type: ignore[arg-type]
        limit_price=None if fraction else limit,
    )


def _why(order: BrokerOrder) -> str:
    if order.reason:
        return order.reason
    return {
        "canceled": "canceled before it filled",
        "expired": "expired (time in force ended) before it filled",
        "done_for_day": "done for the day before it filled",
    }.get(order.status, f"ended {order.status}")


async def trade_through(
    broker: Broker,
    trades: Sequence[Trade],
    prices: Mapping[str, Decimal],
    *,
    run_id: str,
    now: datetime,
    policy: OrderPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TradingOutcome:
    """Execute ``trades`` (already validated, each with a price in ``prices``) on ``broker``."""
    fills: list[Fill] = []
    unfilled: list[UnfilledOrder] = []

    async def place(trade: Trade, wanted: Decimal) -> None:
        qty = wanted if policy.fractional else wanted.to_integral_value(rounding=ROUND_DOWN)
        if qty <= 0:
            unfilled.append(
                UnfilledOrder(
                    trade_id=trade.trade_id,
                    symbol=trade.symbol,
                    action=trade.action,
                    planned=trade.shares,
                    ordered=ZERO,
                    filled=ZERO,
                    status="not_sent",
                    reason=f"the broker account trades whole shares only: {wanted} is less than one",
                )
            )
            return
        placed = await broker.submit(_request(trade, run_id, qty, prices[trade.symbol], policy))
        final = await follow_to_end(
            broker, placed, polls=policy.fill_polls, interval_seconds=policy.poll_interval_seconds, sleep=sleep
        )
        if final.filled_qty > 0 and final.filled_avg_price is not None:
            value = final.filled_qty * final.filled_avg_price
            fills.append(
                Fill(
                    order_id=order_id_for(run_id, trade.trade_id),
                    trade_id=trade.trade_id,
                    symbol=trade.symbol,
                    action=trade.action,
                    shares=final.filled_qty,
                    price=final.filled_avg_price,
                    commission=final.commission,
                    value=value,
                    filled_at=final.filled_at or now,
                    broker_order_id=final.id,
                )
            )
        if final.filled_qty < trade.shares:
            unfilled.append(
                UnfilledOrder(
                    trade_id=trade.trade_id,
                    symbol=trade.symbol,
                    action=trade.action,
                    planned=trade.shares,
                    ordered=qty,
                    filled=final.filled_qty,
                    status=final.status,
                    reason=_why(final)
                    if final.filled_qty < qty
                    else f"the broker account trades whole shares only: {wanted - qty} not sent"
                    if qty < wanted
                    else "cut to the cash the sells raised (see the sells not filled)",
                )
            )
        log.info(
            "order ended", symbol=trade.symbol, side=trade.action, status=final.status, filled=str(final.filled_qty)
        )

    sells = sorted((t for t in trades if t.action == "sell"), key=lambda t: t.trade_id)
    buys = sorted((t for t in trades if t.action == "buy"), key=lambda t: t.trade_id)
    for trade in sells:
        await place(trade, trade.shares)
    raised = sum((f.value - f.commission for f in fills if f.action == "sell"), ZERO)
    shortfall = cash_shortfall(sells, prices, raised, allowance_bps=policy.allowance_bps)
    sized = size_buys(buys, prices, shortfall, allowance_bps=policy.allowance_bps)
    errors: list[str] = []
    if shortfall > 0:
        errors.append(f"the sells raised {shortfall.quantize(_PRICE)} less than planned: buys cut to the cash raised")
    for trade in buys:
        qty = sized[trade.trade_id]
        if qty <= 0:
            unfilled.append(
                UnfilledOrder(
                    trade_id=trade.trade_id,
                    symbol=trade.symbol,
                    action="buy",
                    planned=trade.shares,
                    ordered=ZERO,
                    filled=ZERO,
                    status="not_sent",
                    reason="no cash for it: the sells raised less than planned",
                )
            )
            continue
        await place(trade, qty)
    for item in unfilled:
        errors.append(
            f"{item.action} {item.symbol}: {item.filled} of {item.planned} shares filled ({item.status}): {item.reason}"
        )
    return TradingOutcome(fills=fills, unfilled=unfilled, errors=errors)
