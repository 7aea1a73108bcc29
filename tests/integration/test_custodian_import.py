"""Custodian import on a real system: a file in each layout (generic, Schwab lot details, IBKR open
positions) previewed, applied through the portfolio service's bulk write, and rebalanced (dry run); a file
with errors, an unknown symbol or an account with a run in progress changes nothing; the same
Idempotency-Key applies once; an account with a history starts again from the imported lots."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli
from services.gateway.app import create_app
from shared.log import configure_logging
from shared.settings import Settings
from shared.testing.gateway_server import serve_gateway
from shared.testing.system import InProcessSystem
from tests.integration.waits import wait_awaiting_approval

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "unit" / "custodian_import" / "data"
CSV = {"Content-Type": "text/csv"}
DRY_RUN_OPTIONS = ("--account", "cli-1", "--household", "cli-house", "--dry-run")


def _file(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _post(
    client: TestClient, name: str | bytes, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    body = _file(name) if isinstance(name, str) else name
    return client.post("/api/accounts/import", content=body, params=params, headers={**CSV, **(headers or {})})


def _lots(client: TestClient, account_id: str) -> list[tuple[str, str, Decimal, Decimal]]:
    """The account's open lots as the live ledger derives them (exact values; the ledger writes six places)."""
    body = client.get(f"/api/portfolio/{account_id}/lots").json()
    return sorted(
        (lot["lotId"], lot["symbol"], Decimal(lot["shares"]), Decimal(lot["costBasis"])) for lot in body["lots"]
    )


def _cash(client: TestClient, account_id: str) -> Decimal:
    return Decimal(client.get(f"/api/accounts/{account_id}").json()["cash"])


async def test_each_layout_imports_and_an_imported_account_rebalances(
    system: InProcessSystem, settings: Settings
) -> None:
    app = create_app(settings)

    def imports() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with TestClient(app) as client:
            preview = _post(client, "generic.csv", dryRun="true")
            out["preview"] = preview.status_code, preview.json()
            out["after preview"] = client.get("/api/accounts/imp-taxable").status_code
            applied = _post(client, "generic.csv", {"Idempotency-Key": "generic-1"})
            out["generic"] = applied.status_code, applied.json()
            again = _post(client, "generic.csv", {"Idempotency-Key": "generic-1"})
            out["again"] = again.status_code, again.json()["alreadyApplied"]
            out["generic lots"] = _lots(client, "imp-taxable")
            out["generic cash"] = _cash(client, "imp-taxable"), _cash(client, "imp-ira")
            out["household"] = client.get("/api/households/imp-house").json()
            schwab = _post(client, "schwab_lot_details.csv", accountId="imp-schwab", householdId="imp-house")
            out["schwab"] = schwab.status_code, schwab.json()
            out["schwab lots"] = _lots(client, "imp-schwab")
            out["schwab cash"] = _cash(client, "imp-schwab")
            ibkr = _post(client, "ibkr_open_positions.csv", format="ibkr", householdId="ib-house")
            out["ibkr"] = ibkr.status_code, ibkr.json()
            out["ibkr lots"] = _lots(client, "U1234567"), _lots(client, "U7654321")
        return out

    got = await asyncio.to_thread(imports)
    status, preview = got["preview"]
    assert status == 200 and preview["dryRun"] is True and preview["applied"] is False
    assert preview["format"] == "generic"
    taxable = next(a for a in preview["accounts"] if a["accountId"] == "imp-taxable")
    assert (taxable["newAccount"], taxable["newHousehold"], taxable["cashAfter"]) == (True, True, "4000.00")
    assert len(taxable["lotsAdded"]) == 4 and taxable["lotsRemoved"] == []
    assert got["after preview"] == 404  # a dry run applies nothing
    status, generic = got["generic"]
    assert status == 200 and generic["applied"] is True and generic["alreadyApplied"] is False, generic
    assert got["again"] == (200, True)
    assert got["generic lots"] == [
        ("BND-20190603-1", "BND", Decimal("120"), Decimal("8640.00")),
        ("VEA-20201102-1", "VEA", Decimal("150"), Decimal("6900.00")),
        ("VTI-20251201-1", "VTI", Decimal("40"), Decimal("13386.40")),
        ("vti-a", "VTI", Decimal("60"), Decimal("12531.00")),
    ]
    assert got["generic cash"] == (Decimal("4000.00"), Decimal("0"))
    assert sorted(got["household"]["accountIds"]) == ["imp-ira", "imp-taxable"]
    status, schwab = got["schwab"]
    assert status == 200 and schwab["format"] == "schwab" and schwab["accounts"][0]["householdId"] == "imp-house"
    assert got["schwab lots"] == [
        ("BND-20190603-1", "BND", Decimal("200"), Decimal("15600.00")),
        ("VNQ-20220110-1", "VNQ", Decimal("50"), Decimal("5055.00")),
        ("VTI-20210315-1", "VTI", Decimal("60"), Decimal("12531.00")),
        ("VTI-20251201-1", "VTI", Decimal("40"), Decimal("13386.40")),
    ]
    assert got["schwab cash"] == Decimal("4000.00")
    status, ibkr = got["ibkr"]
    assert status == 200 and [a["accountId"] for a in ibkr["accounts"]] == ["U1234567", "U7654321"]
    assert got["ibkr lots"] == (
        [
            ("BND-20210607-1", "BND", Decimal("80"), Decimal("6000")),
            ("VTI-20200315-1", "VTI", Decimal("10"), Decimal("2500")),
            ("VTI-20251201-1", "VTI", Decimal("15"), Decimal("5000")),
        ],
        [("VEA-20220103-1", "VEA", Decimal("100"), Decimal("4500"))],
    )

    # a dry run of a rebalance of each imported account plans from the imported lots
    for account_id in ("imp-taxable", "imp-schwab", "U1234567"):
        record = await system.wait_for_run(await system.request_run(account_id, dry_run=True))
        assert record.status == "completed", (account_id, record.error)
        assert record.report is not None and record.report.portfolio_value > 0
    record = await system.wait_for_run(await system.request_run("imp-schwab", dry_run=True))
    assert record.report is not None
    # the Schwab account: 60 + 40 VTI, 200 BND, 50 VNQ and $4,000 cash, valued at the run's closes
    sells = {a.symbol for a in record.report.actions if a.action == "sell"}
    assert sells <= {"VTI", "BND", "VNQ"}


async def test_a_file_with_errors_changes_nothing(system: InProcessSystem, settings: Settings) -> None:
    app = create_app(settings)
    unknown_symbol = (
        b"account_id,household_id,symbol,shares,cost_basis,acquired\ndemo,demo-household,ZZZZ,1,10,2020-01-02\n"
    )

    def calls() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with TestClient(app) as client:
            out["before"] = _lots(client, "demo"), _cash(client, "demo")
            bad = _post(client, "generic_with_errors.csv")
            out["bad"] = bad.status_code, bad.json()
            symbol = _post(client, unknown_symbol)
            out["symbol"] = symbol.status_code, symbol.json()["errors"]
            moved = _post(client, "schwab_lot_details.csv", accountId="demo", householdId="elsewhere")
            out["moved"] = moved.status_code
            out["after"] = _lots(client, "demo"), _cash(client, "demo")
            out["bad account"] = client.get("/api/accounts/bad-acct").status_code
            rows = [f"big-{i % 3},big-house,VTI,1,{100 + i}.00,2020-01-0{1 + i % 9}" for i in range(4000)]
            big = _post(
                client, ("account_id,household_id,symbol,shares,cost_basis,acquired\n" + "\n".join(rows)).encode()
            )
            out["big"] = big.status_code, big.json()["error"]
            out["big account"] = client.get("/api/accounts/big-0").status_code
        return out

    got = await asyncio.to_thread(calls)
    status, bad = got["bad"]
    assert status == 422
    assert bad["errors"] == [
        "line 3: shares: not a number ('12,5x')",
        "line 4: acquired: not a date YYYY-MM-DD ('2020-13-01')",
        "line 5: shares: must be positive, got -3",
        "line 6: account_id: missing",
    ]
    assert bad["error"] == "4 problems in the file; nothing was applied"
    assert got["symbol"] == (422, ["line 2: symbol: 'ZZZZ' is not a security the system knows"])
    assert got["moved"] == 200  # --household places new accounts only: demo stays in its household
    assert got["bad account"] == 404
    status, error = got["big"]  # one bus message (1 MB on a bare nats-server) cannot carry the write
    assert status == 413 and error.startswith("4000 lots in 3 accounts are too many for one import on this bus")
    assert got["big account"] == 404
    before_lots, _ = got["before"]
    after_lots, after_cash = got["after"]
    assert before_lots != after_lots and after_cash == Decimal("4000.00")  # the Schwab file was the one applied


async def test_an_import_is_the_new_starting_position_and_waits_for_a_run(
    system: InProcessSystem, settings: Settings
) -> None:
    executed = await system.wait_for_run(await system.request_run("demo", force_rebalance=True))
    assert executed.status == "completed" and executed.report is not None and executed.report.execution.executed
    waiting = await system.request_run("demo-growth", force_rebalance=True, require_approval=True)
    await wait_awaiting_approval(system, waiting)
    app = create_app(settings)
    growth = b"account_id,symbol,shares,cost_basis,acquired\ndemo-growth,VTI,1,200,2020-01-02\n"

    def calls() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with TestClient(app) as client:
            out["history before"] = client.get("/api/portfolio/demo/transactions.csv").text
            busy = _post(client, growth)
            out["busy"] = busy.status_code, busy.json()["errors"]
            applied = _post(client, "schwab_lot_details.csv", accountId="demo")
            out["applied"] = applied.status_code, applied.json()["accounts"][0]
            out["lots"] = _lots(client, "demo")
            out["history after"] = client.get("/api/portfolio/demo/transactions.csv").text
        return out

    got = await asyncio.to_thread(calls)
    assert got["busy"] == (422, [f"line 2: account demo-growth: run {waiting} is in progress; import after it ends"])
    status, change = got["applied"]
    assert status == 200 and change["historyArchived"] is True and change["newAccount"] is False
    assert any(lot["lotId"].startswith(executed.run_id) for lot in change["lotsRemoved"])  # the run's buys
    assert got["lots"] == [
        ("BND-20190603-1", "BND", Decimal("200"), Decimal("15600.00")),
        ("VNQ-20220110-1", "VNQ", Decimal("50"), Decimal("5055.00")),
        ("VTI-20210315-1", "VTI", Decimal("60"), Decimal("12531.00")),
        ("VTI-20251201-1", "VTI", Decimal("40"), Decimal("13386.40")),
    ]
    demo_rows = [row for row in got["history after"].splitlines()[1:] if ",demo," in row]
    assert len(demo_rows) == 4 and all(",buy," in row for row in demo_rows)  # the imported lots, no old fills
    assert any(",sell," in row and ",demo," in row for row in got["history before"].splitlines())


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def test_roles_and_tenants(system: InProcessSystem, settings: Settings, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps(
            [
                {"tenant": "default", "keySha256": _sha("reader"), "roles": ["read"]},
                {"tenant": "default", "keySha256": _sha("trader"), "roles": ["read", "trade"]},
                {"tenant": "globex", "keySha256": _sha("globex"), "roles": ["admin"]},
            ]
        )
    )
    app = create_app(settings.model_copy(update={"gateway_keys_file": keys}))

    def calls() -> dict[str, Any]:
        with TestClient(app) as client:

            def as_(key: str, **params: str) -> httpx.Response:
                return _post(client, "schwab_lot_details.csv", {"Authorization": f"Bearer {key}"}, **params)

            return {
                "reader dry run": as_("reader", accountId="demo", dryRun="true").status_code,
                "reader applies": as_("reader", accountId="demo").status_code,
                "globex takes demo": as_("globex", accountId="demo").json()["errors"],
                "globex own": as_("globex", accountId="g-1", householdId="g-house").status_code,
                "trader applies": as_("trader", accountId="demo").status_code,
                "globex sees": client.get("/api/accounts/g-1", headers={"Authorization": "Bearer globex"}).status_code,
                "default sees": client.get("/api/accounts/g-1", headers={"Authorization": "Bearer reader"}).status_code,
            }

    got = await asyncio.to_thread(calls)
    assert got == {
        "reader dry run": 200,
        "reader applies": 403,
        "globex takes demo": ["line 5: account_id: 'demo' is taken by another book; choose another id"],
        "globex own": 200,
        "trader applies": 200,
        "globex sees": 200,
        "default sees": 404,
    }


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """The gateway's access log would print to the stdout the CLI runner captures: send it to stderr."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    configure_logging("tests", level="WARNING")
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("quiet_logs")
async def test_the_cli_imports_through_the_gateway(system: InProcessSystem, settings: Settings) -> None:
    def run(url: str, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, ["accounts", "import", *args], env={"GATEWAY_URL": url, "COLUMNS": "200"})
        return result.exit_code, result.stdout, result.stderr

    with serve_gateway(settings) as url:
        got = await asyncio.to_thread(
            lambda: {
                "bad": run(url, str(DATA / "generic_with_errors.csv")),
                "dry": run(url, str(DATA / "schwab_lot_details.csv"), *DRY_RUN_OPTIONS),
                "missing": run(url, str(DATA / "no-such-file.csv")),
                "apply": run(url, str(DATA / "ibkr_open_positions.csv"), "--household", "cli-house", "--json"),
            }
        )
    code, out, err = got["bad"]
    assert (code, out) == (2, "")
    assert "4 problems in the file; nothing was applied" in err and "line 3: shares: not a number ('12,5x')" in err
    code, out, _ = got["dry"]
    assert code == 0
    assert (
        "cli-1 in cli-house (new account, new household): +4 lots, -0, ~0 changed, 0 unchanged; cash 0 -> 4000.00"
        in out
    )
    assert "  + VNQ-20220110-1: 50 VNQ cost 5055.00 acquired 2022-01-10" in out
    assert out.strip().endswith("dry run: nothing applied (1 accounts checked)")
    assert got["missing"][0] == 2
    code, out, _ = got["apply"]
    assert code == 0 and json.loads(out)["applied"] is True
