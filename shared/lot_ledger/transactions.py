"""Transactions the ledger replays, and their canonical order.

The ledger's result never depends on the order rows are given: transactions are sorted by
:func:`canonical_key` first. On one date, acquisitions (buys and reinvestments) come before sales, so a
sale may relieve shares bought that morning, and shares bought on the sale date are inside the
wash-sale window. Shares bought and sold on the same date in the same sale are the shares sold, never
their own replacement. Inside each group rows are ordered by account, symbol, lot_id, shares, price and
fees, which makes identical rows interchangeable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.money import ZERO

from .accounts import AccountType

__all__ = ["Action", "Transaction", "canonical_key", "canonical_order"]


class Action(StrEnum):
    BUY = "buy"
    SELL = "sell"
    REINVEST = "reinvest"

    @property
    def is_acquisition(self) -> bool:
        return self is not Action.SELL


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction:
    """One trade. ``price`` is per share in dollars; ``fees`` in dollars (added to the cost of a buy,
        deducted from the proceeds of a sale). ``lot_id`` names the new lot of a buy, or picks the lot a sale
        relieves. ``holding_period_start`` (buys only, optional) starts the lot's holding period earlier than the
    trade date (a lot that carries a tacked holding period). ``line`` is the source line (for error messages
    only; it never affects the result)."""

    trade_date: date
    account_id: str
    symbol: str
    action: Action
    shares: Decimal
    price: Decimal
    account_type: AccountType = AccountType.TAXABLE
    fees: Decimal = ZERO
    lot_id: str | None = None
    line: int | None = None
    holding_period_start: date | None = None

    @property
    def gross(self) -> Decimal:
        return self.shares * self.price


def canonical_key(tx: Transaction) -> tuple[object, ...]:
    """Sort key: date, acquisitions before sales, then every other field except ``line``."""
    return (
        tx.trade_date,
        1 if tx.action is Action.SELL else 0,
        tx.account_id,
        tx.symbol,
        tx.lot_id or "",
        tx.action.value,
        tx.shares,
        tx.price,
        tx.fees,
        tx.account_type.value,
        tx.holding_period_start or tx.trade_date,
    )


def canonical_order(transactions: Iterable[Transaction]) -> list[Transaction]:
    return sorted(transactions, key=canonical_key)
