"""The broker interface every execution venue implements (the paper broker, the Alpaca adapter).

Errors::

    BrokerError                 the broker could not be reached or answered nonsense (retryable)
    BrokerAuthError             the credentials are refused (not retryable: a person must fix them)
    TradingRefusedError         a run may not trade now (a reconciliation break, the market closed);
                                raised before any order is sent, so the run fails cleanly

A refused order is not an error: :meth:`Broker.submit` returns it with ``status="rejected"`` and the
broker's reason.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from services.execution.brokers.orders import BrokerBook, BrokerOrder, MarketClock, OrderRequest
from shared.errors import DomainError, TransientError

__all__ = ["Broker", "BrokerAuthError", "BrokerError", "TradingRefusedError"]


class BrokerError(TransientError):
    """The broker did not answer usefully (network, 5xx, rate limit beyond the retries)."""


class BrokerAuthError(DomainError):
    """The broker refuses the credentials (401/403 on a request that is not an order)."""


class TradingRefusedError(DomainError):
    """The run may not trade now; no order was sent (the coordinator fails the run at the pivot)."""


class Broker(Protocol):
    name: str

    @property
    def streaming(self) -> bool:
        """Whether order updates are pushed now (:meth:`next_update` waits for them)."""
        ...

    async def submit(self, order: OrderRequest) -> BrokerOrder:
        """Send ``order``; idempotent on its ``client_order_id``: a retry returns the order already placed."""
        ...

    async def order(self, client_order_id: str) -> BrokerOrder | None:
        """The order sent with ``client_order_id``, or ``None`` if the broker has none."""
        ...

    async def refresh(self, order: BrokerOrder) -> BrokerOrder:
        """``order`` as the broker reports it now (status, filled quantity, average price)."""
        ...

    async def next_update(self, order: BrokerOrder, timeout: float) -> BrokerOrder | None:
        """A newer state of ``order`` pushed by the broker (a stream), waiting up to ``timeout`` seconds;
        ``None`` at once when the broker pushes nothing (then the order is polled)."""
        ...

    async def with_fees(self, order: BrokerOrder) -> BrokerOrder:
        """``order`` (terminal, filled at least in part) with ``commission`` the whole of what the broker
        charged for it: its commission and the fees it reports apart (Alpaca: FEE account activities)."""
        ...

    async def cancel(self, order: BrokerOrder) -> BrokerOrder:
        """Ask to cancel ``order``; returns it as it stands afterwards."""
        ...

    async def clock(self) -> MarketClock: ...

    async def trading_days(self, start: date, end: date) -> list[date]:
        """The market calendar: the days the market is open between ``start`` and ``end``, inclusive."""
        ...

    async def book(self) -> BrokerBook | None:
        """Positions and cash at the broker; ``None`` when the broker keeps no book of its own (paper)."""
        ...

    async def aclose(self) -> None: ...
