"""``rebalance accounts``: the book of the running system, through the gateway (``GATEWAY_URL``).

* ``rebalance accounts load FILE --replace|--merge [--dry-run]``: load a household file (or a book
  ``{"households": [...]}``) again, explicitly. ``--replace`` makes the book equal to the file (accounts and
  households not in it are removed); ``--merge`` adds and updates only. Prints what changed per household.
  Without a flag it refuses, naming both.
* ``rebalance accounts show ID``: an account as the book holds it (``--json`` for the document).
* ``rebalance accounts import FILE.csv``: positions with tax lots from a custodian file (:mod:`cli.import_cmd`).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli import import_cmd
from cli.gateway_client import GatewayClient, fail

__all__ = ["accounts_app", "change_lines", "register"]

accounts_app = typer.Typer(name="accounts", help="The book of the running system: load, show.", no_args_is_help=True)
console = Console()


def change_lines(changes: list[dict[str, Any]]) -> list[str]:
    """What a load changed, per household: ``household H: added A, B; removed C; changed D (cash, lots)``."""
    by_household: dict[str, dict[str, list[str]]] = {}
    for change in changes:
        if change["kind"] == "model":
            if change["change"] != "unchanged":
                by_household.setdefault("(models)", {}).setdefault(change["change"], []).append(change["id"])
            continue
        household = change.get("householdId") or change["id"]
        kinds = by_household.setdefault(household, {})
        if change["kind"] == "household":
            if change["change"] in ("added", "removed"):
                kinds.setdefault(f"household {change['change']}", [])
            continue
        fields = change.get("fields") or []
        label = f"{change['id']} ({', '.join(fields)})" if change["change"] == "changed" and fields else change["id"]
        kinds.setdefault(change["change"], []).append(label)
    lines = []
    for household in sorted(by_household):
        kinds = by_household[household]
        parts: list[str] = []
        for kind in ("household added", "household removed"):
            if kind in kinds:
                parts.append(kind)
        for kind in ("added", "removed", "changed", "unchanged"):
            if kinds.get(kind):
                names = kinds[kind] if kind != "unchanged" else [str(len(kinds[kind]))]
                parts.append(f"{kind} {', '.join(names)}")
        prefix = household if household == "(models)" else f"household {household}"
        lines.append(f"{prefix}: {'; '.join(parts) if parts else 'nothing'}")
    return lines


@accounts_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help='a household file or a book {"households": [...]}')],
    replace: Annotated[bool, typer.Option("--replace", help="the book becomes the file (others removed)")] = False,
    merge: Annotated[bool, typer.Option("--merge", help="add and update the file's accounts only")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would change, change nothing")] = False,
) -> None:
    """Load a household file into the running system, explicitly: --replace or --merge."""
    if replace == merge:
        fail(
            "say how to load the file: --replace (the book becomes the file: accounts and households not in it "
            "are removed) or --merge (add and update the file's accounts only)"
        )
    try:
        text = file.read_text(encoding="utf-8")
        book = json.loads(text)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    except json.JSONDecodeError as exc:
        fail(f"{file}: not valid JSON ({exc})")
    mode = "replace" if replace else "merge"
    key = f"load-{uuid.uuid4()}"  # one load: a retry of this call applies it once (a later load applies again)
    client = GatewayClient()
    response = client.call(
        "POST",
        "/api/accounts/load",
        params={"mode": mode, "dryRun": str(dry_run).lower()},
        json=book,
        headers={"Idempotency-Key": key},
        ok=(200, 422),
    )
    body = response.json()
    if response.status_code == 422:
        problems = body.get("problems") or [{"path": "", "message": body.get("error", "")}]
        fail("; ".join(f"{p['path']}: {p['message']}" if p["path"] else p["message"] for p in problems))
    verb = "would change" if dry_run else "changed"
    if body.get("alreadyApplied"):
        console.print("this file was loaded already (the same request): nothing changed now")
    lines = change_lines(body.get("changes", []))
    console.print(f"{file} ({mode}) {verb}:")
    for line in lines:
        console.print(f"  {line}")


@accounts_app.command("show")
def show(
    account_id: Annotated[str, typer.Argument(help="the account's id")],
    as_json: Annotated[bool, typer.Option("--json", help="the account document as JSON")] = False,
) -> None:
    """An account as the book holds it: settings, cash and lots (GET /api/accounts/ID)."""
    response = GatewayClient().call("GET", f"/api/accounts/{account_id}", ok=(200,))
    doc = response.json()
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    target = doc.get("target") or f"model {doc.get('model')}"
    console.print(
        f"[bold]{doc['accountId']}[/bold] {doc.get('name', '')}  household {doc['householdId']}  "
        f"{doc['accountType']}  cash {doc['cash']}  target {target}  ETag {response.headers.get('ETag')}"
    )
    table = Table("lot", "symbol", "shares", "cost basis", "acquired")
    for lot in doc.get("lots", []):
        table.add_row(lot["lotId"], lot["symbol"], lot["shares"], lot["costBasis"], lot["acquired"])
    console.print(table)


import_cmd.register(accounts_app)  # rebalance accounts import FILE.csv (a custodian lot file)


def register(app: typer.Typer) -> None:
    """Attach ``rebalance accounts`` to the main app."""
    app.add_typer(accounts_app, name="accounts")
