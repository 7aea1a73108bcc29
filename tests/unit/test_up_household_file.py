"""``make run`` (``rebalance up``) with a bad HOUSEHOLD_FILE says why on the terminal and starts nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from shared.paths import DATA_DIR


def test_bad_household_file_is_refused_with_the_field(tmp_path: Path) -> None:
    household = json.loads((DATA_DIR / "demo_household.json").read_text())
    household["accounts"][0]["lots"][2]["shares"] = "-5"
    bad = tmp_path / "household.json"
    bad.write_text(json.dumps(household))
    result = CliRunner().invoke(app, ["up", "--workdir", str(tmp_path / "var")], env={"HOUSEHOLD_FILE": str(bad)})
    assert result.exit_code == 2
    assert f"error: HOUSEHOLD_FILE {bad}: accounts[0].lots[2].shares" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "var").exists()  # nothing was started


def test_missing_household_file_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["up"], env={"HOUSEHOLD_FILE": str(tmp_path / "nope.json")})
    assert result.exit_code == 2 and "No such file" in result.output
