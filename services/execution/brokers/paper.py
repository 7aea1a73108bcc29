"""The paper broker: fills every order at once at the run's price with the deterministic cost model.

It keeps the orders of this process by client order id (a retry returns the same order); across
processes the same order id gives the same fill, so a redelivered run computes identical fills.
It holds no book of its own: the ledger is the book of record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from services.execution.brokers.orders import BrokerBook, BrokerOrder, MarketClock, OrderRequest
from services.execution.domain.costs import CostModel
from shared.clock import Clock

__all__ = ["PaperBroker"]


class PaperBroker:
    name = "paper"

    def __init__(self, model: CostModel, clock: Clock) -> None:
        self.model = model
        self._clock = clock
        self._orders: dict[str, BrokerOrder] = {}

    async def submit(self, order: OrderRequest) -> BrokerOrder:
        existing = self._orders.get(order.client_order_id)
        if existing is not None:
            return existing
        price = self.model.fill_price(order.reference_price, order.side)
        if order.type == "limit" and order.limit_price is not None:
            crosses = price <= order.limit_price if order.side == "buy" else price >= order.limit_price
            if not crosses:
                placed = BrokerOrder(
                    id=f"paper-{order.client_order_id}",
                    client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    side=order.side,
                    qty=order.qty,
                    status="canceled" if order.time_in_force in ("ioc", "fok") else "new",
                    reason=f"limit {order.limit_price} not reached (fill price {price})",
                )
                self._orders[order.client_order_id] = placed
                return placed
        filled = BrokerOrder(
            id=f"paper-{order.client_order_id}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            status="filled",
            filled_qty=order.qty,
            filled_avg_price=price,
            commission=self.model.commission(order.qty * price),
            filled_at=self._clock.now(),
        )
        self._orders[order.client_order_id] = filled
        return filled

    async def order(self, client_order_id: str) -> BrokerOrder | None:
        return self._orders.get(client_order_id)

    async def refresh(self, order: BrokerOrder) -> BrokerOrder:
        return self._orders.get(order.client_order_id, order)

    @property
    def streaming(self) -> bool:
        return False

    async def next_update(self, order: BrokerOrder, timeout: float) -> BrokerOrder | None:
        return None

    async def with_fees(self, order: BrokerOrder) -> BrokerOrder:
        return order  # the commission of the one cost model (shared.costs) is all it charges

    async def cancel(self, order: BrokerOrder) -> BrokerOrder:
        current = self._orders.get(order.client_order_id, order)
        if current.terminal:
            return current
        canceled = replace(current, status="canceled")
        self._orders[order.client_order_id] = canceled
        return canceled

    async def clock(self) -> MarketClock:
        return MarketClock(timestamp=self._clock.now(), is_open=True)

    async def trading_days(self, start: date, end: date) -> list[date]:
        days = (start + timedelta(days=n) for n in range((end - start).days + 1))
        return [d for d in days if d.weekday() < 5]

    async def book(self) -> BrokerBook | None:
        return None

    async def aclose(self) -> None:
        return None
