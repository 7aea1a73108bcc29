"""``rebalance accounts import FILE.csv``: positions with tax lots from a custodian file, through the gateway
(``POST /api/accounts/import``). Every problem of the file is printed with its line and nothing is applied
(exit 2); ``--dry-run`` prints what would change per account and applies nothing."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from cli.gateway_client import GatewayClient, fail

__all__ = ["import_file", "register", "summary_lines"]

Url = Annotated[str | None, typer.Option("--url", envvar="GATEWAY_URL", help="the gateway (default :8000)")]
FileArg = Annotated[Path, typer.Argument(help="the CSV file (generic, Schwab lot details or IBKR open positions)")]
Format = Annotated[str | None, typer.Option("--format", help="generic, schwab or ibkr (default: from the header)")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print what would change; apply nothing")]
AccountOpt = Annotated[str | None, typer.Option("--account", help="the account of a one-account export (Schwab)")]
HouseholdOpt = Annotated[
    str | None, typer.Option("--household", help="the household of accounts the file does not place")
]
AsOf = Annotated[str | None, typer.Option("--as-of", help="the import's date YYYY-MM-DD (default today)")]
ImportId = Annotated[str | None, typer.Option("--import-id", help="names the import: the same id never applies twice")]
AsJson = Annotated[bool, typer.Option("--json", help="the gateway's answer as JSON")]


def _lot(lot: dict[str, Any]) -> str:
    return f"{lot['lotId']}: {lot['shares']} {lot['symbol']} cost {lot['costBasis']} acquired {lot['acquired']}"


def summary_lines(body: dict[str, Any]) -> list[str]:
    """What an import changed (or would change), one block per account."""
    lines = []
    for account in body.get("accounts", []):
        marks = [
            m for m, on in (("new account", account["newAccount"]), ("new household", account["newHousehold"])) if on
        ]
        extra = f" ({', '.join(marks)})" if marks else ""
        lines.append(
            f"{account['accountId']} in {account['householdId']}{extra}: "
            f"+{len(account['lotsAdded'])} lots, -{len(account['lotsRemoved'])}, "
            f"~{len(account['lotsChanged'])} changed, {account['lotsUnchanged']} unchanged; "
            f"cash {account['cashBefore']} -> {account['cashAfter']}"
        )
        for lot in account["lotsAdded"]:
            lines.append(f"  + {_lot(lot)}")
        for lot in account["lotsRemoved"]:
            lines.append(f"  - {_lot(lot)}")
        for lot in account["lotsChanged"]:
            lines.append(
                f"  ~ {lot['lotId']}: {lot['beforeShares']} -> {lot['shares']} {lot['symbol']}, "
                f"cost {lot['beforeCostBasis']} -> {lot['costBasis']}, "
                f"acquired {lot['beforeAcquired']} -> {lot['acquired']}"
            )
    if body.get("dryRun"):
        lines.append(f"dry run: nothing applied ({len(body.get('accounts', []))} accounts checked)")
    elif body.get("alreadyApplied"):
        lines.append(f"import {body['importId']} was applied before: nothing more changed")
    else:
        lines.append(f"applied: import {body['importId']}, {len(body.get('accounts', []))} accounts")
    return lines


def import_file(
    client: GatewayClient, text: bytes, params: dict[str, str], import_id: str
) -> tuple[int, dict[str, Any]]:
    """POST the file; a connection failure or a 503 is tried once more with the same import id (the
    gateway and the portfolio service complete the same import, never a second one)."""
    headers = {"Content-Type": "text/csv", "Idempotency-Key": import_id}
    for attempt in (1, 2):
        try:
            response = client.http.post("/api/accounts/import", content=text, params=params, headers=headers)
        except httpx.HTTPError as exc:
            if attempt == 2:
                fail(f"cannot reach the gateway at {client.url} (set GATEWAY_URL): {exc}")
            continue
        if response.status_code == 503 and attempt == 1:
            continue
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {"error": response.text}
        return response.status_code, body
    raise AssertionError("unreachable")  # pragma: no cover


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(
        file: FileArg,
        format: Format = None,
        dry_run: DryRun = False,
        account: AccountOpt = None,
        household: HouseholdOpt = None,
        as_of: AsOf = None,
        import_id: ImportId = None,
        as_json: AsJson = False,
        url: Url = None,
    ) -> None:
        """Import positions with tax lots from a custodian file (--dry-run: what would change)."""
        if format is not None and format not in ("generic", "schwab", "ibkr"):
            fail(f"--format: {format!r} is not generic, schwab or ibkr")
        try:
            text = file.read_bytes()
        except OSError as exc:
            fail(f"{file}: {exc.strerror or exc}")
        params = {"dryRun": "true" if dry_run else "false"}
        for name, value in (("format", format), ("accountId", account), ("householdId", household), ("asOf", as_of)):
            if value is not None:
                params[name] = value
        status, body = import_file(GatewayClient(url), text, params, import_id or uuid.uuid4().hex)
        if status == 422 and body.get("errors"):
            print(f"error: {file}: {body.get('error')}", file=sys.stderr)
            for problem in body["errors"]:
                print(f"  {problem}", file=sys.stderr)
            raise typer.Exit(2)
        if status != 200:
            fail(f"{status}: {body.get('error') or body}", 1 if status == 409 else 2)
        if as_json:
            print(json.dumps(body, indent=2))
            return
        for line in summary_lines(body):
            print(line)
