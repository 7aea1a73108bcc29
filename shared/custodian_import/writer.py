"""Write accounts in the generic format (what :func:`parse_import` reads back to the same accounts)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from contracts.imports import ImportedAccount
from shared.custodian_import.generic import CASH_SYMBOL

__all__ = ["GENERIC_COLUMNS", "write_generic"]

GENERIC_COLUMNS = (
    "account_id",
    "household_id",
    "account_type",
    "symbol",
    "shares",
    "cost_basis",
    "acquired",
    "lot_id",
)


def write_generic(accounts: Iterable[ImportedAccount]) -> str:
    """One row per lot, then one ``CASH`` row per account whose cash is known; exact decimal strings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GENERIC_COLUMNS)
    for account in accounts:
        common = [account.account_id, account.household_id or "", account.account_type or ""]
        for lot in account.lots:
            writer.writerow(
                [*common, lot.symbol, f"{lot.shares:f}", f"{lot.cost_basis:f}", lot.acquired.isoformat(), lot.lot_id]
            )
        if account.cash is not None:
            writer.writerow([*common, CASH_SYMBOL, "", f"{account.cash:f}", "", ""])
    return out.getvalue()
