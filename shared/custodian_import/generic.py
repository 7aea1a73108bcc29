"""The generic lot file: one row per lot, one or more cash rows per account.

Columns (names without regard to case, spaces or ``_``: ``account_id``, ``Account ID``, ``accountId``):
``account_id`` (required), ``household_id``, ``account_type``, ``symbol`` (required), ``shares``,
``cost_basis`` (the lot's total) or ``cost_per_share`` (one of them per lot row), ``acquired``
(``YYYY-MM-DD``), ``lot_id``. A cash row has ``symbol`` ``CASH`` and its amount in ``cost_basis``; an
account's cash rows add up. Numbers may be written ``1234.56``, ``$1,234.56`` or ``(12.50)``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from shared.custodian_import.rows import (
    CashRow,
    Cells,
    ImportOptions,
    LotRow,
    Problems,
    Record,
    Rows,
    columns_of,
)

__all__ = ["ALIASES", "CASH_SYMBOL", "REQUIRED", "read_generic"]

CASH_SYMBOL = "CASH"
ALIASES: dict[str, tuple[str, ...]] = {
    "account_id": ("accountid", "account"),
    "household_id": ("householdid", "household"),
    "account_type": ("accounttype",),
    "symbol": ("symbol",),
    "shares": ("shares", "quantity"),
    "cost_basis": ("costbasis", "totalcost"),
    "cost_per_share": ("costpershare", "costshare", "unitcost"),
    "acquired": ("acquired", "acquireddate", "dateacquired", "opendate"),
    "lot_id": ("lotid", "lot"),
}
REQUIRED = ("account_id", "symbol", "shares", "acquired")
_CENT = Decimal("0.01")


def lot_cost(cells: Cells, shares: Decimal | None) -> Decimal | None:
    """The lot's total cost: ``cost_basis``, else ``cost_per_share`` x shares rounded to the cent."""
    if cells.has("cost_basis"):
        return cells.amount("cost_basis")
    if cells.has("cost_per_share"):
        per_share = cells.amount("cost_per_share")
        if per_share is None or shares is None:
            return None
        return (per_share * shares).quantize(_CENT, ROUND_HALF_UP)
    cells.problem("cost_basis", "missing (give cost_basis, the lot's total, or cost_per_share)")
    return None


def read_generic(records: Sequence[Record], header: int, options: ImportOptions, problems: Problems) -> Rows:
    columns = columns_of(records[header].cells, ALIASES)
    rows = Rows()
    for record in records[header + 1 :]:
        cells = Cells(record, columns, problems, records[header].cells)
        account = cells.text("account_id")
        household = cells.text("household_id") or None
        kind = cells.text("account_type") or None
        symbol = cells.text("symbol").upper()
        if not account:
            cells.problem("account_id", "missing")
        if symbol == CASH_SYMBOL:
            amount = cells.amount("cost_basis")
            if amount is not None and not cells.failed:
                rows.cash.append(CashRow(cells.line, account, amount, household, kind))
            continue
        shares = cells.amount("shares")
        cost = lot_cost(cells, shares)
        acquired = cells.date("acquired", "iso")
        if not symbol:
            cells.problem("symbol", "missing")
        if cells.failed or shares is None or cost is None or acquired is None:
            continue
        lot_id = cells.text("lot_id") or None
        rows.lots.append(LotRow(cells.line, account, symbol, shares, cost, acquired, lot_id, household, kind))
    return rows
