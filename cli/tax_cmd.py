"""``rebalance tax``: offline tax tools over :mod:`services.tax.domain`.

``rebalance tax realized TRANSACTIONS.csv [--securities FILE] [--method fifo|lifo|hifo|min-tax]
[--filing-status single|mfj|mfs|hoh|qss] [--json] [--form8949 OUT.csv [--year YYYY]]`` replays the
transactions (any order) and prints the realized gains like Form 8949, or one JSON object; ``--form8949``
also writes the Form 8949 rows (one per sale) to OUT.csv. A bad row exits with code 2 and names its line
on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.tax.domain import (
    FilingStatus,
    LotMethod,
    RealizedResult,
    TransactionError,
    compute_realized,
    parse_transactions_csv,
)
from shared.lot_ledger import form8949_csv, form8949_rows
from shared.money import cents
from shared.securities import SecurityMaster, default_securities

__all__ = ["register"]

tax_app = typer.Typer(name="tax", help="Tax tools: realized gains, wash sales.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _print_table(result: RealizedResult) -> None:
    console = Console()
    sales = Table(title="Sales (Form 8949)")
    for column in (
        "Date sold",
        "Account",
        "Symbol",
        "Shares",
        "Acquired",
        "Proceeds",
        "Cost basis",
        "Code",
        "Adjustment",
        "Permanent",
        "Gain/loss",
        "Term",
    ):
        sales.add_column(
            column,
            justify="right"
            if column in {"Shares", "Proceeds", "Cost basis", "Adjustment", "Permanent", "Gain/loss"}
            else "left",
        )
    for s in result.sales:
        sales.add_row(
            s.sale_date.isoformat(),
            s.account_id,
            s.symbol,
            str(s.shares),
            s.acquired.isoformat(),
            str(cents(s.proceeds)),
            str(cents(s.cost_basis)),
            s.code,
            str(cents(s.wash_sale_disallowed)),
            str(cents(s.permanently_disallowed)),
            str(cents(s.gain)),
            s.term.value,
        )
    console.print(sales)
    years = Table(title="By tax year")
    for column in (
        "Year",
        "Short-term",
        "Long-term",
        "Disallowed",
        "Deductible loss",
        "Carryforward ST",
        "Carryforward LT",
    ):
        years.add_column(column, justify="right")
    for y in result.years:
        years.add_row(
            str(y.year),
            str(cents(y.short_term)),
            str(cents(y.long_term)),
            str(cents(y.disallowed)),
            str(cents(y.deductible_loss)),
            str(cents(y.carryforward_short_term)),
            str(cents(y.carryforward_long_term)),
        )
    console.print(years)


@tax_app.command("realized")
def realized(
    transactions: Annotated[
        Path, typer.Argument(help="CSV: date,account,account_type,symbol,action,shares,price[,lot_id][,fees]")
    ],
    securities: Annotated[Path | None, typer.Option("--securities", help="securities master CSV")] = None,
    method: Annotated[str, typer.Option("--method", help="fifo, lifo, hifo or min-tax")] = "fifo",
    filing_status: Annotated[str, typer.Option("--filing-status", help="single, mfj, mfs, hoh or qss")] = "single",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    form8949: Annotated[
        Path | None, typer.Option("--form8949", help="also write the Form 8949 rows (one per sale) to this CSV")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="only this tax year's sales in --form8949")] = None,
) -> None:
    """Realized gains and losses, wash sales and open lots after replaying TRANSACTIONS."""
    try:
        lot_method = LotMethod.parse(method)
        status = FilingStatus.parse(filing_status)
    except ValueError as exc:
        _fail(str(exc))
        return
    try:
        master: SecurityMaster = SecurityMaster.from_csv(securities) if securities else default_securities()
    except (OSError, ValueError) as exc:
        _fail(f"securities file: {exc}")
        return
    try:
        with transactions.open(newline="", encoding="utf-8") as fh:
            result = compute_realized(
                parse_transactions_csv(fh), method=lot_method, securities=master, filing_status=status
            )
    except OSError as exc:
        _fail(f"{transactions}: {exc.strerror or exc}")
        return
    except TransactionError as exc:
        _fail(f"{transactions}: {exc}")
        return
    if form8949 is not None:
        try:
            form8949.write_text(form8949_csv(form8949_rows(result.sales, year=year)), encoding="utf-8")
        except OSError as exc:
            _fail(f"{form8949}: {exc.strerror or exc}")
            return
    if as_json:
        typer.echo(json.dumps(result.to_json_dict(), indent=2))
    else:
        _print_table(result)


def register(app: typer.Typer) -> None:
    """Attach ``rebalance tax`` to the main app."""
    app.add_typer(tax_app, name="tax")
