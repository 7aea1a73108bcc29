"""The paper broker's deterministic cost model.

A buy fills at the close plus half the spread, a sell at the close minus half the spread (prices
rounded to 0.0001); the commission is a fixed amount per order plus basis points of the notional,
rounded to cents. Same inputs, same fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.money import cents

__all__ = ["CostModel"]

_BPS = Decimal(10_000)
_PRICE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    commission_per_trade: Decimal = Decimal(0)
    commission_bps: Decimal = Decimal(1)
    spread_bps: Decimal = Decimal(2)

    def fill_price(self, close: Decimal, action: str) -> Decimal:
        half = self.spread_bps / 2 / _BPS
        factor = 1 + half if action == "buy" else 1 - half
        return (close * factor).quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_UP)

    def commission(self, notional: Decimal) -> Decimal:
        return cents(self.commission_per_trade + notional * self.commission_bps / _BPS)
