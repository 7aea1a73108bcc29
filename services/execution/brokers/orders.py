"""Value objects of a broker conversation: an order to send, an order as the broker reports it, the
market clock, and the broker's book (positions in shares, cash in dollars).

Statuses follow the Alpaca Trading API v2 order lifecycle (``new``, ``accepted``, ``pending_new``,
``partially_filled``, ``filled``, ``done_for_day``, ``canceled``, ``expired``, ``rejected``, ...).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

__all__ = [
    "CLIENT_ORDER_ID_MAX",
    "TERMINAL_STATUSES",
    "BrokerBook",
    "BrokerOrder",
    "MarketClock",
    "OrderRequest",
    "OrderType",
    "TimeInForce",
    "client_order_id_for",
]

OrderType = Literal["market", "limit"]
TimeInForce = Literal["day", "gtc", "opg", "cls", "ioc", "fok"]

TERMINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected", "done_for_day", "replaced", "stopped"})
"""After one of these the order's filled quantity no longer changes."""

CLIENT_ORDER_ID_MAX = 48
"""The longest client order id every Alpaca API version accepts."""


def client_order_id_for(order_id: str) -> str:
    """The client order id sent for the run's order ``order_id``: the id itself when short enough,
    else a digest of it (the same order id always gives the same client order id)."""
    if len(order_id) <= CLIENT_ORDER_ID_MAX:
        return order_id
    return "rb-" + hashlib.sha256(order_id.encode()).hexdigest()[: CLIENT_ORDER_ID_MAX - 3]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: Decimal
    reference_price: Decimal
    """The run's market price (the paper broker fills at it with its cost model; a limit order's limit is
    derived from it)."""
    type: OrderType = "market"
    time_in_force: TimeInForce = "day"
    limit_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOrder:
    id: str
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: Decimal
    status: str
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    commission: Decimal = Decimal(0)
    filled_at: datetime | None = None
    reason: str = ""
    """Why the broker refused or ended the order (its error message), when it says."""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketClock:
    timestamp: datetime
    is_open: bool
    next_open: datetime | None = None
    next_close: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerBook:
    """What the broker holds: shares by symbol and cash."""

    positions: dict[str, Decimal] = field(default_factory=dict)
    cash: Decimal = Decimal(0)
