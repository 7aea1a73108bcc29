"""Valuation of open lots at a price: unrealized gain or loss, term and days to long-term."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.holding_period import Term
from shared.lot_ledger.errors import TaxDomainError
from shared.lot_ledger.lots import Lot
from shared.money import ZERO
from shared.securities import SecurityMaster

__all__ = ["LotPosition", "value_lots"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LotPosition:
    """One open lot valued at ``price`` (dollars per share) on the as-of date.

    ``cost_basis`` includes wash-sale adjustments; ``unrealized_percent`` is the gain in percent of it;
    ``days_to_long_term`` is 0 once a sale would be long-term.
    """

    lot_id: str
    symbol: str
    shares: Decimal
    price: Decimal
    market_value: Decimal
    cost_basis: Decimal
    unrealized_gain: Decimal
    unrealized_percent: Decimal
    term: Term
    acquired: date
    holding_period_start: date
    long_term_date: date
    days_to_long_term: int
    wash_sale_adjustment: Decimal = ZERO
    collectible: bool = False


def value_lots(
    lots: Iterable[Lot], prices: Mapping[str, Decimal], *, as_of: date, securities: SecurityMaster
) -> tuple[LotPosition, ...]:
    """Value every lot; a symbol without a price raises TaxDomainError."""
    positions = []
    for lot in lots:
        if lot.symbol not in prices:
            raise TaxDomainError(f"no price for {lot.symbol} (lot {lot.lot_id})")
        price = prices[lot.symbol]
        value = lot.shares * price
        basis = lot.adjusted_basis
        gain = value - basis
        long_term_on = lot.long_term_on()
        security = securities.get(lot.symbol)
        positions.append(
            LotPosition(
                lot_id=lot.lot_id,
                symbol=lot.symbol,
                shares=lot.shares,
                price=price,
                market_value=value,
                cost_basis=basis,
                unrealized_gain=gain,
                unrealized_percent=gain / basis * 100 if basis else ZERO,
                term=lot.term_on(as_of),
                acquired=lot.acquired,
                holding_period_start=lot.holding_start,
                long_term_date=long_term_on,
                days_to_long_term=max(0, (long_term_on - as_of).days),
                wash_sale_adjustment=lot.wash_sale_adjustment,
                collectible=bool(security and security.collectible),
            )
        )
    return tuple(positions)
