"""``rebalance accounts load FILE --replace|--merge`` and ``accounts show`` against a real gateway over HTTP:
loading a file again is explicit and says what changed per household; a bad file names its field."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app
from shared.log import configure_logging
from shared.paths import DEMO_HOUSEHOLD_FILE
from shared.settings import Settings
from shared.testing.gateway_server import serve_gateway
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    configure_logging("tests", level="WARNING")
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"GATEWAY_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


async def test_load_a_household_file_again_explicitly(
    system: InProcessSystem, settings: Settings, tmp_path: Path
) -> None:
    demo: dict[str, Any] = json.loads(DEMO_HOUSEHOLD_FILE.read_text(encoding="utf-8"))
    edited = copy.deepcopy(demo)
    edited["accounts"][0]["cash"] = "4100.00"  # demo changed
    dropped = edited["accounts"].pop()["account_id"]  # the last account is not in the file any more
    added = copy.deepcopy(edited["accounts"][0])
    added["account_id"] = "demo-new"
    added["lots"] = [{"lot_id": "n-1", "symbol": "BND", "shares": "10", "cost_basis": "720", "acquired": "2025-02-03"}]
    edited["accounts"].append(added)
    path = tmp_path / "household.json"
    path.write_text(json.dumps(edited), encoding="utf-8")
    bad = copy.deepcopy(edited)
    bad["accounts"][0]["lots"][2]["shares"] = "0"
    bad_path = tmp_path / "bad.json"
    bad_path.write_text(json.dumps(bad), encoding="utf-8")

    with serve_gateway(settings) as url:

        def run() -> dict[str, tuple[int, str]]:
            out = {"no flag": _cli(url, "accounts", "load", str(path))}
            out["bad"] = _cli(url, "accounts", "load", str(bad_path), "--merge")
            out["merge"] = _cli(url, "accounts", "load", str(path), "--merge")
            out["show dropped"] = _cli(url, "accounts", "show", dropped)
            out["replace dry"] = _cli(url, "accounts", "load", str(path), "--replace", "--dry-run")
            out["replace"] = _cli(url, "accounts", "load", str(path), "--replace")
            out["show new"] = _cli(url, "accounts", "show", "demo-new")
            out["replace again"] = _cli(url, "accounts", "load", str(path), "--replace")
            out["show gone"] = _cli(url, "accounts", "show", dropped)
            return out

        got = await asyncio.to_thread(run)

    code, text = got["no flag"]
    assert code == 2 and "--replace" in text and "--merge" in text
    code, text = got["bad"]
    assert code == 2 and "accounts[0].lots[2].shares: must be positive" in text
    code, text = got["merge"]
    assert code == 0, text
    assert "household demo-household: added demo-new; changed demo (cash); unchanged 1" in text
    assert got["show dropped"][0] == 0  # merge removes nothing
    code, text = got["replace dry"]
    assert code == 0 and f"removed {dropped}" in text and "would change" in text
    code, text = got["replace"]
    assert code == 0 and f"household demo-household: removed {dropped}; unchanged 3" in text, text
    code, text = got["replace again"]
    assert code == 0 and "household demo-household: unchanged 3" in text, text
    code, text = got["show new"]
    assert code == 0 and "n-1" in text and "BND" in text
    code, text = got["show gone"]
    assert code == 2 and "404" in text
