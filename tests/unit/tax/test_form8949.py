"""Form 8949 export: one row per sale, Part I/II by term, box A/D covered (B/E not), VARIOUS dates, code
W with the adjustment, and the permanently disallowed part (IRA replacement) shown."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from services.tax.domain import AccountType, compute_realized
from shared.lot_ledger import form8949_csv, form8949_rows

from .helpers import tx

IRA = AccountType.TRADITIONAL_IRA
TRANSACTIONS = [
    tx("buy", "2011-06-01", "XYZ", 100, 20),  # noncovered, long-term gain
    tx("buy", "2023-03-01", "XYZ", 50, 30),  # covered, long-term loss
    tx("sell", "2024-05-01", "XYZ", 150, 25),
    tx("buy", "2024-05-15", "XYZ", 20, 24, account="ira", account_type=IRA),  # washes 20 shares for good
    tx("buy", "2024-01-10", "VTI", 10, 200),
    tx("buy", "2024-02-10", "VTI", 10, 210),
    tx("sell", "2024-03-01", "VTI", 10, 190),  # one order in two fills
    tx("sell", "2024-03-01", "VTI", 10, 190),
    tx("buy", "2024-03-20", "VTI", 5, 195),  # washes 5 shares of the first lot's loss
]
EXPECTED = (
    "part,box,description,date_acquired,date_sold,proceeds,cost_basis,code,adjustment,gain_or_loss,"
    "permanently_disallowed,account\n"
    "I,A,20 sh. VTI,VARIOUS,03/01/2024,3800.00,4100.00,W,50.00,-250.00,0.00,brokerage\n"
    "II,D,50 sh. XYZ,03/01/2023,05/01/2024,1250.00,1500.00,W,100.00,-150.00,100.00,brokerage\n"
    "II,E,100 sh. XYZ,06/01/2011,05/01/2024,2500.00,2000.00,,,500.00,0.00,brokerage\n"
)


def test_worked_example() -> None:
    result = compute_realized(TRANSACTIONS)
    assert form8949_csv(form8949_rows(result.sales)) == EXPECTED
    assert result.total_disallowed == 150 and result.total_permanently_disallowed == 100


def test_year_filter_keeps_only_that_years_sales() -> None:
    result = compute_realized(TRANSACTIONS)
    assert form8949_rows(result.sales, year=2023) == []
    assert len(form8949_rows(result.sales, year=2024)) == 3


def test_cli_writes_the_export_and_shows_the_permanent_part(tmp_path: Path) -> None:
    lines = ["date,account,account_type,symbol,action,shares,price"]
    lines += [
        f"{t.trade_date},{t.account_id},{t.account_type.value},{t.symbol},{t.action.value},{t.shares},{t.price}"
        for t in TRANSACTIONS
    ]
    source, out = tmp_path / "tx.csv", tmp_path / "f8949.csv"
    source.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["tax", "realized", str(source), "--form8949", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert out.read_text() == EXPECTED
    data = json.loads(result.stdout)
    assert [s["permanently_disallowed"] for s in data["sales"]] == ["0.00", "0.00", "0.00", "100.00"]
    assert data["years"]["2024"]["permanently_disallowed"] == "100.00"
    table = CliRunner().invoke(app, ["tax", "realized", str(source)], env={"COLUMNS": "200"})
    assert "Permanent" in table.stdout and "100.00" in table.stdout


def test_cli_cannot_write_the_export(tmp_path: Path) -> None:
    source = tmp_path / "tx.csv"
    source.write_text("date,account,account_type,symbol,action,shares,price\n")
    result = CliRunner().invoke(app, ["tax", "realized", str(source), "--form8949", str(tmp_path / "no/such.csv")])
    assert result.exit_code == 2 and "no/such.csv" in result.output
