"""Rows to accounts: every check that spans rows, and lot ids for lots the file does not name.

Nothing here depends on the order of the rows: accounts come out sorted by id, lots by (symbol, acquired,
lot id), an account's cash rows add up, generated lot ids depend only on the lots' own fields, and problems
are sorted by line."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from contracts.imports import ImportedAccount, ImportedLot
from shared.custodian_import.rows import CashRow, ImportOptions, LotRow, Problems, Rows

__all__ = ["ACCOUNT_TYPES", "assemble"]

ACCOUNT_TYPES = ("taxable", "traditional_ira", "roth_ira")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_LOT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9./-]{0,15}$")
_ZERO = Decimal(0)


def _check_lot(row: LotRow, options: ImportOptions, problems: Problems) -> bool:
    ok = True

    def bad(field: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.add(row.line, f"{field}: {message}")

    if not _SYMBOL.match(row.symbol):
        bad("symbol", f"{row.symbol!r} is not a ticker symbol")
    if row.shares <= 0:
        bad("shares", f"must be positive, got {row.shares}")
    if row.cost_basis < 0:
        bad("cost_basis", f"must not be negative, got {row.cost_basis}")
    if options.as_of is not None and row.acquired > options.as_of:
        bad("acquired", f"{row.acquired} is after the import's date {options.as_of}")
    if row.lot_id is not None and not _LOT_ID.match(row.lot_id):
        bad("lot_id", f"{row.lot_id!r}: letters, digits, '.', ':', '-' or '_' (at most 128)")
    return ok


def _lot_ids(lots: list[LotRow]) -> dict[int, str]:
    """A lot id for every lot of one account, by line: its own, else ``<SYMBOL>-<YYYYMMDD>-<n>`` numbered
    among the account's unnamed lots of that symbol and date in (shares, cost) order, skipping taken ids."""
    taken = {lot.lot_id for lot in lots if lot.lot_id}
    ids = {lot.line: lot.lot_id for lot in lots if lot.lot_id}
    groups: dict[tuple[str, str], list[LotRow]] = defaultdict(list)
    for lot in lots:
        if not lot.lot_id:
            groups[(lot.symbol, lot.acquired.strftime("%Y%m%d"))].append(lot)
    for (symbol, day), group in groups.items():
        n = 0
        for lot in sorted(group, key=lambda r: (r.shares, r.cost_basis, r.line)):
            n += 1
            while f"{symbol}-{day}-{n}" in taken:
                n += 1
            ids[lot.line] = f"{symbol}-{day}-{n}"
    return {line: lot_id for line, lot_id in ids.items() if lot_id}


def _one_value(values: Iterable[tuple[int, str | None]], account: str, field: str, problems: Problems) -> str | None:
    """The one ``field`` an account's rows give (rows that leave it empty agree with any)."""
    first: tuple[int, str] | None = None
    for line, value in sorted((line, v) for line, v in values if v):
        if first is None:
            first = (line, value)
        elif value != first[1]:
            problems.add(line, f"{field}: account {account} is {value!r} here and {first[1]!r} on line {first[0]}")
    return first[1] if first else None


def assemble(rows: Rows, options: ImportOptions, problems: Problems) -> list[ImportedAccount]:
    lots_of: dict[str, list[LotRow]] = defaultdict(list)
    seen: dict[str, int] = {}
    households: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    kinds: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    cash: dict[str, Decimal] = {}
    every: list[LotRow | CashRow] = [*rows.lots, *rows.cash]
    for row in every:
        if row.account_id and not _ID.match(row.account_id):
            problems.add(row.line, f"account_id: {row.account_id!r}: letters, digits, '-' or '_' (at most 128)")
            continue
        if row.household_id and not _ID.match(row.household_id):
            problems.add(row.line, f"household_id: {row.household_id!r}: letters, digits, '-' or '_' (at most 128)")
        if row.account_type and row.account_type not in ACCOUNT_TYPES:
            problems.add(row.line, f"account_type: {row.account_type!r} is not one of {', '.join(ACCOUNT_TYPES)}")
        if not row.account_id:
            continue
        seen[row.account_id] = min(row.line, seen.get(row.account_id, row.line))
        households[row.account_id].append((row.line, row.household_id))
        kinds[row.account_id].append((row.line, row.account_type))
    for lot in rows.lots:
        if lot.account_id in seen and _check_lot(lot, options, problems):
            lots_of[lot.account_id].append(lot)
    for row in rows.cash:
        if row.account_id in seen:
            cash[row.account_id] = cash.get(row.account_id, _ZERO) + row.amount
    _check_summaries(rows, lots_of, problems)
    accounts = []
    for account_id in sorted(seen):
        lots = lots_of.get(account_id, [])
        ids = _lot_ids(lots)
        _check_duplicate_ids(lots, ids, account_id, problems)
        balance = cash.get(account_id)
        if balance is not None and balance < 0:
            first_cash = min(r.line for r in rows.cash if r.account_id == account_id)
            problems.add(
                first_cash, f"cash: account {account_id}'s cash adds up to {balance}; negative cash is refused"
            )
        kind = _one_value(kinds[account_id], account_id, "account_type", problems)
        accounts.append(
            ImportedAccount(
                account_id=account_id,
                line=seen[account_id],
                household_id=_one_value(households[account_id], account_id, "household_id", problems),
                account_type=kind if kind in ACCOUNT_TYPES else None,  # type: ignore[arg-type]
                lots=sorted(
                    (
                        ImportedLot(
                            line=lot.line,
                            lot_id=ids[lot.line],
                            symbol=lot.symbol,
                            shares=lot.shares,
                            cost_basis=lot.cost_basis,
                            acquired=lot.acquired,
                        )
                        for lot in lots
                    ),
                    key=lambda lot: (lot.symbol, lot.acquired, lot.lot_id),
                ),
                cash=balance,
            )
        )
    return accounts


def _check_duplicate_ids(lots: list[LotRow], ids: dict[int, str], account: str, problems: Problems) -> None:
    first: dict[str, int] = {}
    for lot in sorted(lots, key=lambda r: r.line):
        lot_id = ids[lot.line]
        if lot_id in first:
            problems.add(lot.line, f"lot_id: {lot_id!r} appears twice in account {account} (also line {first[lot_id]})")
        else:
            first[lot_id] = lot.line


def _check_summaries(rows: Rows, lots_of: dict[str, list[LotRow]], problems: Problems) -> None:
    """A custodian's position total must equal the sum of that position's lots."""
    for summary in rows.summaries:
        held = sum((lot.shares for lot in lots_of.get(summary.account_id, []) if lot.symbol == summary.symbol), _ZERO)
        if held != summary.shares:
            problems.add(
                summary.line,
                f"quantity: the lots of {summary.symbol} add up to {held} shares, the position's total says "
                f"{summary.shares}",
            )
