"""What the ledger reports: one :class:`Sale` per lot relieved, one :class:`WashMatch` per replacement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.holding_period import Term
from shared.money import ZERO

from .accounts import AccountType

__all__ = ["Sale", "WashMatch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Sale:
    """One lot (or part of one) relieved by a sale: a line of Form 8949.

    ``proceeds`` are net of sale fees; ``cost_basis`` includes buy fees and the lot's wash-sale
    adjustments. ``wash_sale_disallowed`` is the loss disallowed under §1091 (column (g), code W), of
    which ``permanently_disallowed`` was replaced inside an IRA and added to no basis. ``taxable`` is
    False for sales inside an IRA, which are not taxable events. ``wash_sale_adjustment`` is the part of
    ``cost_basis`` that earlier disallowed losses added to the lot (carried into this sale's gain).
    """

    sale_id: int
    sale_date: date
    account_id: str
    account_type: AccountType
    symbol: str
    lot_id: str
    shares: Decimal
    acquired: date
    holding_period_start: date
    proceeds: Decimal
    cost_basis: Decimal
    term: Term
    wash_sale_disallowed: Decimal = ZERO
    permanently_disallowed: Decimal = ZERO
    collectible: bool = False
    wash_sale_adjustment: Decimal = ZERO

    @property
    def taxable(self) -> bool:
        return not self.account_type.is_ira

    @property
    def loss_before_wash(self) -> Decimal:
        """The economic loss (positive), or zero for a gain."""
        return max(ZERO, self.cost_basis - self.proceeds)

    @property
    def gain(self) -> Decimal:
        """Reportable gain (negative for a loss): proceeds - cost basis + disallowed loss."""
        return self.proceeds - self.cost_basis + self.wash_sale_disallowed

    @property
    def code(self) -> str:
        return "W" if self.wash_sale_disallowed > 0 else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class WashMatch:
    """``shares`` of a loss sale matched with as many replacement shares (one to one).

    ``disallowed`` is the loss of those shares; unless ``permanent`` (replacement inside an IRA) it was
    added to the basis of the replacement shares, whose holding period now includes that of the shares
    sold.
    """

    sale_id: int
    sale_date: date
    sold_account_id: str
    sold_symbol: str
    sold_lot_id: str
    replacement_account_id: str
    replacement_account_type: AccountType
    replacement_symbol: str
    replacement_lot_id: str
    replacement_acquired: date
    shares: Decimal
    disallowed: Decimal
    permanent: bool
