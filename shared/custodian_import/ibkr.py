"""Interactive Brokers' Flex Query "Open Positions" CSV with lot detail (options Summary and Lot).

Columns used: ``ClientAccountID``, ``CurrencyPrimary``, ``AssetClass``, ``Symbol``, ``Quantity``,
``CostBasisMoney`` (the lot's total; else ``CostBasisPrice`` x quantity), ``OpenDateTime``
(``YYYYMMDD;HHMMSS``, ``YYYYMMDD`` or ``YYYY-MM-DD, HH:MM:SS``: the time is dropped) and ``LevelOfDetail``
(``LOT`` rows are lots, ``SUMMARY`` rows are the position's total, which its lots must add up to); every
other column is ignored. A ``CASH`` asset-class row of ``USD`` is cash (its quantity); another currency,
a short position (negative quantity) or a currency other than USD is refused. Header and trailer records
(``BOF``, ``BOA``, ``BOS``, ``EOS``, ``EOA``, ``EOF``) and a repeated header are skipped."""

from __future__ import annotations

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
    normalized,
)

__all__ = ["ALIASES", "REQUIRED", "read_ibkr"]

ALIASES: dict[str, tuple[str, ...]] = {
    "account_id": ("clientaccountid", "accountid"),
    "currency": ("currencyprimary", "currency"),
    "asset_class": ("assetclass", "assetcategory"),
    "symbol": ("symbol",),
    "shares": ("quantity", "position"),
    "cost_basis": ("costbasismoney",),
    "cost_per_share": ("costbasisprice",),
    "acquired": ("opendatetime", "opendate"),
    "level": ("levelofdetail",),
}
REQUIRED = ("account_id", "symbol", "shares", "acquired", "level")
_TRAILERS = frozenset({"BOF", "BOA", "BOS", "EOS", "EOA", "EOF"})


def read_ibkr(records: Sequence[Record], header: int, options: ImportOptions, problems: Problems) -> Rows:
    header_cells = records[header].cells
    columns = columns_of(header_cells, ALIASES)
    repeated = [normalized(cell) for cell in header_cells]
    rows = Rows()
    household = None  # the layout has no household column: the caller places new accounts
    for record in records[header + 1 :]:
        if record.cells[0].strip().upper() in _TRAILERS or [normalized(c) for c in record.cells] == repeated:
            continue
        cells = Cells(record, columns, problems, records[header].cells)
        account = cells.text("account_id")
        if not account:
            cells.problem("account_id", "missing")
        currency = cells.text("currency").upper() or "USD"
        symbol = cells.text("symbol").upper()
        level = cells.text("level").upper()
        if cells.text("asset_class").upper() == "CASH":
            if symbol != "USD":
                cells.problem("symbol", f"cash in {symbol or '?'}: only USD cash is supported")
                continue
            amount = cells.amount("shares")
            if amount is not None and not cells.failed:
                rows.cash.append(CashRow(cells.line, account, amount, household))
            continue
        if currency != "USD":
            cells.problem("currency", f"{currency}: only USD positions are supported")
            continue
        if not symbol:
            cells.problem("symbol", "missing")
            continue
        shares = cells.amount("shares")
        if level == "SUMMARY":
            if shares is not None and not cells.failed:
                rows.summaries.append(SummaryRow(cells.line, account, symbol, shares))
            continue
        if level not in ("LOT", ""):
            cells.problem("level", f"{level!r} is not SUMMARY or LOT")
            continue
        cost = lot_cost(cells, shares)
        acquired = cells.date("acquired", "ibkr")
        if cells.failed or shares is None or cost is None or acquired is None:
            continue
        rows.lots.append(LotRow(cells.line, account, symbol, shares, cost, acquired, None, household))
    return rows
