"""Brokers the execution service sends orders to: the :class:`Broker` interface, the paper broker and the
Alpaca Trading API v2 adapter."""

from services.execution.brokers.accounts import AlpacaCredentials, BrokerAccounts, load_broker_accounts
from services.execution.brokers.alpaca import AlpacaBroker
from services.execution.brokers.base import Broker, BrokerAuthError, BrokerError, TradingRefusedError
from services.execution.brokers.factory import broker_accounts_from_settings, broker_from_settings
from services.execution.brokers.orders import (
    TERMINAL_STATUSES,
    BrokerBook,
    BrokerOrder,
    MarketClock,
    OrderRequest,
    client_order_id_for,
)
from services.execution.brokers.paper import PaperBroker
from services.execution.brokers.waiting import follow_to_end

__all__ = [
    "TERMINAL_STATUSES",
    "AlpacaBroker",
    "AlpacaCredentials",
    "Broker",
    "BrokerAccounts",
    "BrokerAuthError",
    "BrokerBook",
    "BrokerError",
    "BrokerOrder",
    "MarketClock",
    "OrderRequest",
    "PaperBroker",
    "TradingRefusedError",
    "broker_accounts_from_settings",
    "broker_from_settings",
    "client_order_id_for",
    "follow_to_end",
    "load_broker_accounts",
]
