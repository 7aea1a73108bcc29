"""The ledger's book of each broker account: the positions and cash of the accounts mapped to it (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from contracts import AccountSnapshot, LedgerBook, broker_account_of
from shared.money import ZERO

__all__ = ["ledger_books"]


def ledger_books(accounts: Iterable[AccountSnapshot]) -> dict[str, LedgerBook]:
    """One book per broker account named by the accounts' ``broker_account`` settings ("" is the default)."""
    grouped: dict[str, list[AccountSnapshot]] = {}
    for account in accounts:
        grouped.setdefault(broker_account_of(account.broker_account), []).append(account)
    books = {}
    for name, members in sorted(grouped.items()):
        totals: dict[str, Decimal] = {}
        for account in members:
            for lot in account.lots:
                totals[lot.symbol] = totals.get(lot.symbol, ZERO) + lot.shares
        positions = {s: q for s, q in sorted(totals.items()) if q != 0}
        books[name] = LedgerBook(
            broker_account=name,
            account_ids=sorted(a.account_id for a in members),
            positions=positions,
            cash=sum((a.cash for a in members), ZERO),
        )
    return books
