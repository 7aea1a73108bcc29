"""The one trading cost model: a commission and half the bid-ask spread, in basis points.

Every trade pays, on its notional (shares times the close):

- ``commission_per_trade`` dollars per order, plus ``commission_bps`` basis points;
- ``half_spread_bps`` basis points: a buy fills at the close plus half the spread, a sell at the close
  minus half the spread.

So one side costs ``rate = (commission_bps + half_spread_bps) / 10,000`` of the notional plus the fixed
commission, and a round trip (a sale and its replacement purchase) twice that. The planner charges
``rate`` on every trade, tax-loss harvesting charges a round trip against the tax a loss saves, and the
paper broker fills and charges exactly this. One set of settings (``COMMISSION_PER_TRADE``,
``COMMISSION_BPS``, ``HALF_SPREAD_BPS``) feeds them all: :func:`cost_model_from`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from shared.money import cents

__all__ = ["DEFAULT_COSTS", "CostModel", "CostSettings", "cost_model_from"]

_BPS = Decimal(10_000)
_PRICE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """Trading costs: ``commission_per_trade`` in dollars, the others in basis points of the notional."""

    commission_per_trade: Decimal = Decimal(0)
    commission_bps: Decimal = Decimal(0)
    half_spread_bps: Decimal = Decimal(5)

    def __post_init__(self) -> None:
        for name in ("commission_per_trade", "commission_bps", "half_spread_bps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is negative")

    @property
    def rate(self) -> Decimal:
        """Proportional cost of one side (buy or sell) as a fraction of the notional."""
        return (self.commission_bps + self.half_spread_bps) / _BPS

    def trade_cost(self, notional: Decimal) -> Decimal:
        """Dollars one order of ``notional`` costs (spread and commission), unrounded."""
        return self.commission_per_trade + notional * self.rate

    def round_trip_cost(self, notional: Decimal) -> Decimal:
        """Dollars a sale and a purchase of ``notional`` each cost together, unrounded."""
        return 2 * self.trade_cost(notional)

    def fill_price(self, close: Decimal, action: str) -> Decimal:
        """The price a ``"buy"`` or ``"sell"`` fills at: the close plus or minus half the spread."""
        half = self.half_spread_bps / _BPS
        factor = 1 + half if action == "buy" else 1 - half
        return (close * factor).quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_UP)

    def commission(self, notional: Decimal) -> Decimal:
        """The commission of one order of ``notional``, in cents."""
        return cents(self.commission_per_trade + notional * self.commission_bps / _BPS)


DEFAULT_COSTS = CostModel()
"""The settings' defaults: no commission, a 5 bp half spread."""


class CostSettings(Protocol):
    commission_per_trade: Decimal
    commission_bps: Decimal
    half_spread_bps: Decimal


def cost_model_from(settings: CostSettings) -> CostModel:
    """The cost model the settings describe."""
    return CostModel(
        commission_per_trade=settings.commission_per_trade,
        commission_bps=settings.commission_bps,
        half_spread_bps=settings.half_spread_bps,
    )
