"""Sells the account cannot cover: execution never sends a sell of shares the ledger does not hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from contracts import Trade

__all__ = ["sells_beyond_holdings"]


def sells_beyond_holdings(trades: Sequence[Trade], held: Mapping[str, Decimal]) -> dict[str, str]:
    """The sells (by trade id) that, in order, would sell more of a symbol than ``held`` has, with the reason.

    Sells of one symbol draw on its holding together, in trade-id order (the order execution sends them).
    """
    refused: dict[str, str] = {}
    left = dict(held)
    for trade in sorted((t for t in trades if t.action == "sell"), key=lambda t: t.trade_id):
        have = left.get(trade.symbol, Decimal(0))
        if trade.shares > have:
            refused[trade.trade_id] = (
                f"sell of {trade.shares} {trade.symbol} exceeds the {have} shares the account holds"
            )
            continue
        left[trade.symbol] = have - trade.shares
    return refused
