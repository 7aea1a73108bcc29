"""``rebalance plan`` reads the household file's account format as well as its own: a household file
with ``--account``, or one account object of it; and says which day its prices are from when the
``--as-of`` date has no market data (the one look-back rule, shared.market_window)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from shared.paths import DEMO_HOUSEHOLD_FILE

runner = CliRunner()
HOUSEHOLD = json.loads(DEMO_HOUSEHOLD_FILE.read_text())
BAD_LOT = {"lot_id": "x", "symbol": "VTI", "shares": "-1", "cost_basis": "1", "acquired": "2020-01-02"}


def _plan(tmp_path: Path, doc: Any, *args: str) -> Any:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    return runner.invoke(app, ["plan", str(path), *args])


def _trades(result: Any) -> list[tuple[str, str, str, list[str]]]:
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    return [(t["action"], t["symbol"], t["shares"], [lot["lot_id"] for lot in t["lots"]]) for t in doc["trades"]]


def test_a_household_file_with_account_plans_as_a_run_does(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", str(DEMO_HOUSEHOLD_FILE), "--account", "demo", "--json"])
    # the README's demo run: the BND lot at a loss is not sold (the IRA bought AGG on 2026-04-20: a wash
    # sale made permanent), the other BND lot is, at a small long-term gain taxed at the profile's rate
    assert _trades(result) == [
        ("sell", "BND", "11", ["demo-bnd-2"]),
        ("buy", "VEA", "8", []),
        ("buy", "VNQ", "22", []),
        ("buy", "VTI", "6", []),
    ]
    assert json.loads(result.stdout)["estimated_tax"] == "0.68"  # $3.41 long-term gain at 15% + 5% state


def test_an_account_object_of_a_household_file(tmp_path: Path) -> None:
    account = next(a for a in HOUSEHOLD["accounts"] if a["account_id"] == "demo-growth")
    trades = _trades(_plan(tmp_path, account, "--json"))
    assert trades and all(action in ("buy", "sell") for action, *_ in trades)
    # alone, without its household, the demo account's BND loss lot is not known to be washed: sold
    demo = next(a for a in HOUSEHOLD["accounts"] if a["account_id"] == "demo")
    assert ("sell", "BND", "11", ["demo-bnd-1"]) in _trades(_plan(tmp_path, demo, "--json"))


def test_a_household_file_of_one_account_needs_no_account_option(tmp_path: Path) -> None:
    one = {**HOUSEHOLD, "accounts": [a for a in HOUSEHOLD["accounts"] if a["account_id"] == "demo-ira"]}
    assert _trades(_plan(tmp_path, one, "--json")) == _trades(
        runner.invoke(app, ["plan", str(DEMO_HOUSEHOLD_FILE), "--account", "demo-ira", "--json"])
    )


@pytest.mark.parametrize(
    ("doc", "args", "needle"),
    [
        (HOUSEHOLD, [], "--account: the file holds 3 accounts (demo, demo-growth, demo-ira); name one"),
        (HOUSEHOLD, ["--account", "nope"], "--account: no account 'nope' in the file"),
        (
            {**HOUSEHOLD, "accounts": [{**HOUSEHOLD["accounts"][0], "lots": [BAD_LOT]}]},
            [],
            "accounts[0].lots[0].shares",
        ),
        ({"account_id": "a", "account_type": "brokerage", "lots": []}, [], "account.account_type: 'brokerage'"),
    ],
)
def test_bad_household_input_exits_2_naming_the_problem(tmp_path: Path, doc: Any, args: list[str], needle: str) -> None:
    result = _plan(tmp_path, doc, *args)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert result.stdout == ""


def test_plan_as_of_past_the_data_says_which_day_its_prices_are_from() -> None:
    args = ["plan", str(DEMO_HOUSEHOLD_FILE), "--account", "demo", "--json"]
    past = runner.invoke(app, [*args, "--as-of", "2026-05-04"])  # the shipped ETF prices end on 2026-05-01
    assert past.exit_code == 0, past.output
    assert past.stderr.strip() == (
        "warning: no market data on 2026-05-04: figures are as of 2026-05-01, the last trading day with data before it"
    )
    on_last = runner.invoke(app, [*args, "--as-of", "2026-05-01"])
    assert on_last.exit_code == 0 and on_last.stderr == ""
    assert _trades(past) == _trades(on_last)  # the same prices


def test_whole_share_counts_print_as_plain_numbers() -> None:
    # on 2026-06-15 the IRA's AGG purchase is more than 30 days old: the BND lot at a loss is sold whole
    result = runner.invoke(
        app, ["plan", str(DEMO_HOUSEHOLD_FILE), "--account", "demo", "--json", "--as-of", "2026-06-15"]
    )
    assert ("sell", "BND", "120", ["demo-bnd-1"]) in _trades(result)  # "120", never "1.2E+2"
