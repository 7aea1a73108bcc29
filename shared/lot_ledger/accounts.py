"""Account types, lot relief methods and the per-account policy the ledger applies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["AccountPolicy", "AccountType", "LotMethod"]


class AccountType(StrEnum):
    """Tax treatment of an account. Sales inside an IRA are not taxable events, but IRA purchases are
    replacements for the wash-sale rule (and make the disallowance permanent)."""

    TAXABLE = "taxable"
    TRADITIONAL_IRA = "traditional_ira"
    ROTH_IRA = "roth_ira"

    @property
    def is_ira(self) -> bool:
        return self is not AccountType.TAXABLE


class LotMethod(StrEnum):
    """Which lots a sale relieves when it does not name one.

    - ``fifo``: earliest acquired first (the IRS default, Reg. §1.1012-1(c)(1)).
    - ``lifo``: latest acquired first.
    - ``hifo``: highest adjusted cost per share first.
    - ``min_tax``: short-term losses (largest loss per share first), then long-term losses (largest
      first), then long-term gains (smallest first), then short-term gains (smallest first).
    - ``specific``: the lot named by ``lot_id`` (a sale without one falls back to FIFO).

    Ties always fall back to acquisition date, then to the order the lots were opened.
    """

    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    MIN_TAX = "min_tax"
    SPECIFIC = "specific"

    @classmethod
    def parse(cls, text: str) -> LotMethod:
        """Accept ``min-tax`` as well as ``min_tax`` (case-insensitive)."""
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown lot method {text!r} (one of {choices})") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountPolicy:
    """How the ledger treats one account.

    ``reinvest_is_replacement``: whether a ``reinvest`` row (dividend reinvestment) of this account counts
    as a replacement purchase for the wash-sale rule. Default True: the row is an acquisition.
    """

    account_id: str
    account_type: AccountType = AccountType.TAXABLE
    lot_method: LotMethod = LotMethod.FIFO
    reinvest_is_replacement: bool = True
