"""Parsing of transaction rows (already read as text) into :class:`Transaction` values.

Columns: ``date,account,account_type,symbol,action,shares,price``, optional ``lot_id``, ``fees`` and
``holding_period_start`` (a buy's holding period start, when earlier than its date).
Every problem raises :class:`TransactionError` naming the line (the header is line 1).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from shared.money import ZERO

from .accounts import AccountType
from .errors import TransactionError
from .transactions import Action, Transaction

__all__ = ["REQUIRED_COLUMNS", "parse_transactions_csv"]

REQUIRED_COLUMNS = ("date", "account", "account_type", "symbol", "action", "shares", "price")


def _decimal(text: str, field: str, line: int) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise TransactionError(f"{field} {text!r} is not a decimal number", line=line) from None
    if not value.is_finite():
        raise TransactionError(f"{field} {text!r} is not a finite number", line=line)
    return value


def _row(row: dict[str, str | None], line: int) -> Transaction:
    def cell(name: str) -> str:
        value = row.get(name)
        if value is None or not value.strip():
            raise TransactionError(f"missing value in column {name!r}", line=line)
        return value.strip()

    try:
        trade_date = date.fromisoformat(cell("date"))
    except ValueError:
        raise TransactionError(f"bad date {row.get('date')!r} (expected YYYY-MM-DD)", line=line) from None
    try:
        action = Action(cell("action").lower())
    except ValueError:
        raise TransactionError(f"unknown action {row.get('action')!r} (buy, sell or reinvest)", line=line) from None
    try:
        account_type = AccountType(cell("account_type").lower())
    except ValueError:
        raise TransactionError(
            f"unknown account_type {row.get('account_type')!r} (taxable, traditional_ira or roth_ira)",
            line=line,
        ) from None
    shares = _decimal(cell("shares"), "shares", line)
    if shares <= 0:
        raise TransactionError(f"shares must be positive, got {shares}", line=line)
    price = _decimal(cell("price"), "price", line)
    if price < 0:
        raise TransactionError(f"price must not be negative, got {price}", line=line)
    fees_text = (row.get("fees") or "").strip()
    fees = _decimal(fees_text, "fees", line) if fees_text else ZERO
    if fees < 0:
        raise TransactionError(f"fees must not be negative, got {fees}", line=line)
    start_text = (row.get("holding_period_start") or "").strip()
    try:
        holding_start = date.fromisoformat(start_text) if start_text else None
    except ValueError:
        raise TransactionError(f"bad holding_period_start {start_text!r} (expected YYYY-MM-DD)", line=line) from None
    if holding_start is not None and (action is Action.SELL or holding_start > trade_date):
        raise TransactionError("holding_period_start is for buys only, on or before the trade date", line=line)
    return Transaction(
        holding_period_start=holding_start,
        trade_date=trade_date,
        account_id=cell("account"),
        account_type=account_type,
        symbol=cell("symbol").upper(),
        action=action,
        shares=shares,
        price=price,
        fees=fees,
        lot_id=(row.get("lot_id") or "").strip() or None,
        line=line,
    )


def parse_transactions_csv(lines: Iterable[str]) -> list[Transaction]:
    """Parse CSV text lines (header first). Blank lines are skipped."""
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise TransactionError(f"missing column(s): {', '.join(missing)}", line=1)
    reader.fieldnames = header
    transactions = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise TransactionError("more values than columns", line=line)
        if not any((value or "").strip() for value in row.values()):
            continue
        transactions.append(_row(row, line))
    return transactions
