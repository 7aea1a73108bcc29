import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()

ACCOUNT = {
    "account_id": "demo",
    "taxable": True,
    "cash": "4000.00",
    "band": 5,
    "target": {"equity": 60, "bond": 30, "reit": 10},
    "rates": {"short_term": "0.37", "long_term": "0.15"},
    "lots": [
        {
            "lot_id": "vti-1",
            "symbol": "VTI",
            "shares": "60",
            "cost_basis": "12531.00",
            "acquired": "2021-03-15",
        },
        {
            "lot_id": "vti-2",
            "symbol": "VTI",
            "shares": "40",
            "cost_basis": "13386.40",
            "acquired": "2025-12-01",
        },
        {
            "lot_id": "bnd-1",
            "symbol": "BND",
            "shares": "120",
            "cost_basis": "10170.00",
            "acquired": "2021-03-15",
        },
        {
            "lot_id": "vea-1",
            "symbol": "VEA",
            "shares": "100",
            "cost_basis": "3619.00",
            "acquired": "2022-10-12",
        },
        {
            "lot_id": "vnq-1",
            "symbol": "VNQ",
            "shares": "50",
            "cost_basis": "5368.00",
            "acquired": "2024-01-10",
        },
    ],
}


def _write(tmp_path: Path, doc: object, name: str = "a.json") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_json_output(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", _write(tmp_path, ACCOUNT), "--json", "--as-of", "2026-04-30"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["needs_rebalancing"] is True
    assert set(doc["deviations"]) >= {"equity", "bond", "reit", "cash"}
    assert doc["solver"] == "osqp"
    t = doc["trades"][0]
    assert set(t) == {"symbol", "action", "shares", "price", "value", "lots", "reason"}
    assert {"before", "after", "estimated_tax", "estimated_costs"} <= set(doc)


def test_table_output_and_modes(tmp_path: Path) -> None:
    path = _write(tmp_path, ACCOUNT)
    res = runner.invoke(app, ["plan", path])
    assert res.exit_code == 0 and "Trades" in res.stdout
    res = runner.invoke(app, ["plan", path, "--mode", "sell-only", "--withdraw", "2000", "--json"])
    assert res.exit_code == 0, res.output
    assert all(t["action"] == "sell" for t in json.loads(res.stdout)["trades"])
    res = runner.invoke(app, ["plan", path, "--mode", "harvest-reinvest", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    sold = {t["symbol"] for t in doc["trades"] if t["action"] == "sell"}
    bought = {t["symbol"] for t in doc["trades"] if t["action"] == "buy"}
    assert sold and sold <= {"VNQ", "VTI", "BND"} and not bought & {"VNQ", "VTI", "BND", "AGG"}


def _bad(**changes: object) -> dict[str, object]:
    doc = json.loads(json.dumps(ACCOUNT))
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "args", "needle"),
    [
        (_bad(cash=None), [], "cash"),
        (ACCOUNT, ["--as-of", "2026-13-01"], "--as-of"),
        (
            _bad(
                lots=[
                    {
                        "lot_id": "x",
                        "symbol": "ZZZZ",
                        "shares": "1",
                        "cost_basis": "1",
                        "acquired": "2020-01-01",
                    }
                ]
            ),
            [],
            "ZZZZ",
        ),
        (
            _bad(
                lots=[
                    {
                        "lot_id": "x",
                        "symbol": "VTI",
                        "shares": "-1",
                        "cost_basis": "1",
                        "acquired": "2020-01-01",
                    }
                ]
            ),
            [],
            "shares",
        ),
        ("{not json", [], "malformed JSON"),
        (ACCOUNT, ["--withdraw", "100"], "--withdraw"),
        (ACCOUNT, ["--mode", "sideways"], "--mode"),
        (_bad(target={"equity": 50}), [], "target"),
        (ACCOUNT, ["--as-of", "1990-01-02"], "no price"),
        (ACCOUNT, ["--mode", "sell-only", "--withdraw", "99000000"], "cannot raise the $99000000.00 withdrawal"),
    ],
)
def test_bad_input_exit_2_message_on_stderr(tmp_path: Path, doc: object, args: list[str], needle: str) -> None:
    res = runner.invoke(app, ["plan", _write(tmp_path, doc), *args, "--json"])
    assert res.exit_code == 2
    assert res.stdout == ""
    assert needle in res.stderr


def test_missing_file(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "cannot read" in res.stderr and res.stdout == ""


def test_costs_come_from_the_shared_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, ACCOUNT)
    args = ["plan", path, "--json", "--as-of", "2026-04-30", "--method", "heuristic"]
    monkeypatch.setenv("HALF_SPREAD_BPS", "5")
    cheap = json.loads(runner.invoke(app, args).stdout)
    monkeypatch.setenv("HALF_SPREAD_BPS", "50")
    dear = json.loads(runner.invoke(app, args).stdout)
    traded = sum(float(t["value"]) for t in cheap["trades"])
    assert float(cheap["estimated_costs"]) == pytest.approx(traded * 0.0005, abs=0.02)
    assert float(dear["estimated_costs"]) > 5 * float(cheap["estimated_costs"])
