"""Fill a trade on the paper broker: validate it, price it with the cost model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from contracts import Fill, Trade
from services.execution.domain.costs import CostModel
from shared.errors import InvalidInputError

__all__ = ["fill_trade", "order_id_for", "validate_trade"]


def order_id_for(run_id: str, trade_id: str) -> str:
    """The client order id: one order per run and trade, whatever the number of deliveries."""
    return f"{run_id}.{trade_id}"


def validate_trade(trade: Trade, prices: Mapping[str, Decimal]) -> Decimal:
    """The market price of ``trade``; a trade that cannot be sent raises with the reason."""
    if trade.action not in ("buy", "sell"):
        raise InvalidInputError(f"{trade.trade_id}: unknown action {trade.action!r}")
    if trade.shares <= 0:
        raise InvalidInputError(f"{trade.trade_id}: {trade.symbol} quantity must be positive, got {trade.shares}")
    price = prices.get(trade.symbol)
    if price is None or price <= 0:
        raise InvalidInputError(f"{trade.trade_id}: no market price for {trade.symbol}")
    return price


def fill_trade(trade: Trade, *, run_id: str, close: Decimal, model: CostModel, at: datetime, simulated: bool) -> Fill:
    price = model.fill_price(close, trade.action)
    notional = trade.shares * price
    return Fill(
        order_id=order_id_for(run_id, trade.trade_id),
        trade_id=trade.trade_id,
        symbol=trade.symbol,
        action=trade.action,
        shares=trade.shares,
        price=price,
        commission=model.commission(notional),
        value=notional,
        filled_at=at,
        simulated=simulated,
    )
