"""Schwab's "Unrealized Gain/Loss - Lot Details" export (one account per file).

The file opens with a title line (``"Unrealized Gain/Loss - Lot Details for XXXX-1234 as of ..."``) and a
blank line before the header; the account number in it is masked, so the account id comes from the caller
(``--account`` / ``accountId``). Columns used: ``Symbol``, ``Open Date`` (``MM/DD/YYYY``), ``Quantity``,
``Cost Basis`` (the lot's total; else ``Cost/Share`` x quantity) and ``Market Value`` (for cash); every
other column (``Name``, ``Price``, ``Gain/Loss $``, ``Holding Period``, ``Disallowed Loss`` ...) is ignored.

Rows: a row with an open date is a lot; a row without one is the position's total (its lots must add up to
its quantity); ``Cash & Cash Investments`` (or ``Cash & Money Market``) is cash at its market value, and so
is a money-market fund (a five-letter symbol ending in ``XX``: ``SWVXX``); ``Account Total`` and any row
whose symbol starts with ``Total`` is a footer, skipped."""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.custodian_import.generic import lot_cost
from shared.custodian_import.rows import (
    CashRow,
    Cells,
    ImportOptions,
    LotRow,
    Problems,
    Record,
    Rows,
    SummaryRow,
    columns_of,
)

__all__ = ["ALIASES", "REQUIRED", "is_money_market", "read_schwab"]

ALIASES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol",),
    "acquired": ("opendate", "dateacquired", "acquired"),
    "shares": ("quantity", "qty", "qtyquantity"),
    "cost_basis": ("costbasis",),
    "cost_per_share": ("costshare", "costpershare"),
    "market_value": ("marketvalue", "mktval", "mktvalmarketvalue"),
}
REQUIRED = ("symbol", "acquired", "shares", "cost_basis")
_MONEY_MARKET = re.compile(r"^[A-Z]{3}XX$")


def is_money_market(symbol: str) -> bool:
    """A money-market fund by the US ticker convention (five letters ending in ``XX``: SWVXX, SPAXX)."""
    return bool(_MONEY_MARKET.match(symbol))


def _is_cash(symbol: str) -> bool:
    return symbol.upper().startswith("CASH &") or symbol.upper() in ("CASH", "CASH & CASH INVESTMENTS")


def read_schwab(records: Sequence[Record], header: int, options: ImportOptions, problems: Problems) -> Rows:
    columns = columns_of(records[header].cells, ALIASES)
    rows = Rows()
    account = options.account_id or ""
    if not account:
        problems.add(records[0].line, "account: a Schwab export names no account id; give one (--account)")
        return rows
    household = None  # the layout has no household column: the caller places new accounts
    for record in records[header + 1 :]:
        cells = Cells(record, columns, problems, records[header].cells)
        raw_symbol = cells.text("symbol")
        symbol = raw_symbol.upper()
        if symbol.startswith(("ACCOUNT TOTAL", "TOTAL")):
            continue  # the footer
        if _is_cash(raw_symbol) or is_money_market(symbol):
            amount = cells.amount("market_value") if cells.has("market_value") else cells.amount("shares")
            if amount is not None:
                rows.cash.append(CashRow(cells.line, account, amount, household))
            continue
        if not symbol:
            cells.problem("symbol", "missing")
            continue
        shares = cells.amount("shares")
        if not cells.has("acquired"):  # the position's total, before or after its lots
            if shares is not None:
                rows.summaries.append(SummaryRow(cells.line, account, symbol, shares))
            continue
        cost = lot_cost(cells, shares)
        acquired = cells.date("acquired", "us")
        if cells.failed or shares is None or cost is None or acquired is None:
            continue
        rows.lots.append(LotRow(cells.line, account, symbol, shares, cost, acquired, None, household))
    return rows
