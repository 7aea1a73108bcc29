"""``rebalance tax realized`` through typer's CliRunner on ``cli.main.app``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app

HEADER = "date,account,account_type,symbol,action,shares,price,lot_id,fees\n"
ROWS = (
    "2024-06-20,joint,taxable,XYZ,buy,100,8,new,\n"  # rows out of order on purpose
    "2024-01-02,joint,taxable,XYZ,buy,100,10,old,\n"
    "2024-06-03,joint,taxable,XYZ,sell,100,7.50,old,\n"
    "2024-07-01,joint,taxable,VTI,buy,10,200,,1\n"
    "2024-08-01,joint,taxable,VTI,sell,10,150,,1\n"
)


def _run(tmp_path: Path, text: str, *args: str) -> Result:
    path = tmp_path / "tx.csv"
    path.write_text(text)
    return CliRunner().invoke(app, ["tax", "realized", str(path), *args])


def test_json_output(tmp_path: Path) -> None:
    result = _run(tmp_path, HEADER + ROWS, "--json", "--method", "min-tax")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sales"] == [
        {
            "date": "2024-06-03",
            "account": "joint",
            "symbol": "XYZ",
            "lot_id": "old",
            "shares": "100",
            "acquired": "2024-01-02",
            "proceeds": "750.00",
            "cost_basis": "1000.00",
            "wash_sale_disallowed": "250.00",
            "permanently_disallowed": "0.00",
            "gain": "0.00",
            "term": "short",
            "code": "W",
        },
        {
            "date": "2024-08-01",
            "account": "joint",
            "symbol": "VTI",
            "lot_id": "VTI-2024-07-01-1",
            "shares": "10",
            "acquired": "2024-07-01",
            "proceeds": "1499.00",
            "cost_basis": "2001.00",
            "wash_sale_disallowed": "0.00",
            "permanently_disallowed": "0.00",
            "gain": "-502.00",
            "term": "short",
            "code": "",
        },
    ]
    (lot,) = data["lots"]
    assert lot["lot_id"] == "new" and lot["cost_basis"] == "1050.00"
    assert lot["acquired"] == "2024-06-20" and lot["holding_period_start"] == "2024-01-19"
    assert data["years"]["2024"] == {
        "short_term": "-502.00",
        "long_term": "0.00",
        "disallowed": "250.00",
        "permanently_disallowed": "0.00",
        "deductible_loss": "502.00",
        "carryforward": "0.00",
        "carryforward_short_term": "0.00",
        "carryforward_long_term": "0.00",
    }


def test_table_output(tmp_path: Path) -> None:
    result = _run(tmp_path, HEADER + ROWS)
    assert result.exit_code == 0, result.output
    assert "Form 8949" in result.stdout and "250.00" in result.stdout


def test_filing_status_option(tmp_path: Path) -> None:
    rows = "2024-01-02,a,taxable,XYZ,buy,100,100,,\n2024-03-01,a,taxable,XYZ,sell,100,50,,\n"
    result = _run(tmp_path, HEADER + rows, "--json", "--filing-status", "mfs")
    year = json.loads(result.stdout)["years"]["2024"]
    assert (year["deductible_loss"], year["carryforward_short_term"]) == ("1500.00", "3500.00")


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("2024-13-01,joint,taxable,XYZ,buy,1,1,,", "bad date"),
        ("2024-07-01,joint,taxable,XYZ,short,1,1,,", "unknown action"),
        ("2024-07-01,joint,taxable,XYZ,buy,-5,1,,", "shares must be positive"),
        ("2024-07-01,joint,taxable,XYZ,sell,500,1,,", "selling 500 shares"),
        ("2024-07-01,joint,taxable,XYZ,sell,1,1,nope,", "unknown lot_id"),
        ("2024-07-01,joint,brokerage,XYZ,buy,1,1,,", "unknown account_type"),
        ("2024-07-01,joint,taxable,XYZ,buy,,1,,", "missing value in column 'shares'"),
        ("2024-07-01,joint,taxable,XYZ,buy,1,abc,,", "not a decimal"),
    ],
)
def test_bad_row_exits_2_naming_the_line(tmp_path: Path, row: str, problem: str) -> None:
    result = _run(tmp_path, HEADER + ROWS + row + "\n", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "line 7" in result.stderr and problem in result.stderr


def test_missing_column_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "date,account,symbol,action,shares,price\n2024-01-02,a,XYZ,buy,1,1\n")
    assert result.exit_code == 2 and "line 1" in result.stderr and "account_type" in result.stderr


def test_securities_option_changes_identical_groups(tmp_path: Path) -> None:
    master = tmp_path / "sec.csv"
    master.write_text("symbol,name,asset_class,category,identical_group\nAAA,A,equity,c,same\nBBB,B,equity,c,same\n")
    rows = (
        "2024-01-02,a,taxable,AAA,buy,10,10,,\n2024-03-01,a,taxable,AAA,sell,10,8,,\n"
        "2024-03-05,a,taxable,BBB,buy,10,8,,\n"
    )
    plain = json.loads(_run(tmp_path, HEADER + rows, "--json").stdout)
    assert plain["sales"][0]["code"] == ""
    grouped = json.loads(_run(tmp_path, HEADER + rows, "--json", "--securities", str(master)).stdout)
    assert grouped["sales"][0]["code"] == "W" and grouped["sales"][0]["wash_sale_disallowed"] == "20.00"
