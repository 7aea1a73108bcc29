"""What a planning method wants to trade, before rounding and constraint repair.

Buys are dollars per symbol; sells are shares per lot (a method that decides per security turns its
dollars into lots with :func:`~.lots.sell_from_lots`). ``purpose`` holds, per symbol, the first part
of the reason a person reads ("equity is 8.3 points over target").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Intent"]


@dataclass(slots=True, kw_only=True)
class Intent:
    buys: dict[str, Decimal] = field(default_factory=dict)
    sell_lots: dict[str, Decimal] = field(default_factory=dict)
    purpose: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    drift_driven: bool = False  # trades fix drift: improvement threshold and top-up apply

    def add_buy(self, symbol: str, dollars: Decimal) -> None:
        if dollars > 0:
            self.buys[symbol] = self.buys.get(symbol, Decimal(0)) + dollars

    def add_sell(self, lot_id: str, shares: Decimal) -> None:
        if shares > 0:
            self.sell_lots[lot_id] = self.sell_lots.get(lot_id, Decimal(0)) + shares
