"""Tax lots: the unit of the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.holding_period import Term, long_term_date, term_of
from shared.money import ZERO

__all__ = ["Lot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Lot:
    """An open tax lot.

    ``cost_basis`` is the total original cost in dollars (shares x price plus buy fees);
    ``wash_sale_adjustment`` is the disallowed loss added to it under IRC §1091(d);
    ``holding_period_start`` is the acquisition date, moved earlier by the holding period of the shares
    sold when the lot replaced shares sold at a washed loss (§1223(3)); None means ``acquired``.
    """

    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date
    account_id: str = ""
    holding_period_start: date | None = None
    wash_sale_adjustment: Decimal = ZERO

    @property
    def holding_start(self) -> date:
        return self.holding_period_start or self.acquired

    @property
    def adjusted_basis(self) -> Decimal:
        """Cost basis plus wash-sale adjustments, in dollars."""
        return self.cost_basis + self.wash_sale_adjustment

    @property
    def basis_per_share(self) -> Decimal:
        return self.adjusted_basis / self.shares if self.shares else ZERO

    def term_on(self, sold: date) -> Term:
        return term_of(self.holding_start, sold)

    def long_term_on(self) -> date:
        """First date on which a sale of this lot is long-term."""
        return long_term_date(self.holding_start)
