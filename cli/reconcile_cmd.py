"""``rebalance reconcile [ACCOUNT] [--clear --by NAME] [--json]``: the ledger against the broker, through
the running gateway (``GATEWAY_URL``). Exits 1 when a broker account is out of sync or blocked by a break
(so a cron job can alert), 2 on bad input or an unreachable gateway."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.gateway_client import GatewayClient, fail

__all__ = ["register"]


def _table(report: dict[str, Any]) -> Table:
    state = "in sync" if report["inSync"] else "[red]BREAK[/]"
    if report.get("blocked"):
        state += " · [red]trading stopped[/]"
    title = f"broker account {report['brokerAccount']} ({', '.join(report['accountIds'])}) · {state}"
    table = Table("symbol", "ledger", "broker", title=title, caption=report.get("message", ""))
    for diff in report.get("differences", []):
        table.add_row(diff["symbol"], str(diff["ledger"]), str(diff["broker"]))
    return table


def register(app: typer.Typer) -> None:
    @app.command("reconcile")
    def reconcile(
        account: Annotated[str | None, typer.Argument(help="an account (default: every broker account)")] = None,
        clear: Annotated[bool, typer.Option("--clear", help="lift the break of ACCOUNT's broker account")] = False,
        by: Annotated[str, typer.Option("--by", help="who clears the break")] = "cli",
        as_json: Annotated[bool, typer.Option("--json")] = False,
        url: Annotated[str | None, typer.Option("--url", envvar="GATEWAY_URL")] = None,
    ) -> None:
        """Reconcile the ledger with the broker; --clear lifts a break (trading resumes)."""
        client = GatewayClient(url)
        if clear:
            if account is None:
                fail("--clear needs the ACCOUNT whose broker account's break to lift")
            reports = [client.json("POST", f"/api/accounts/{account}/reconcile/clear", json={"by": by})]
        elif account is not None:
            reports = [client.json("GET", f"/api/accounts/{account}/reconcile")]
        else:
            reports = client.call("GET", "/api/reconcile").json()
        if as_json:
            print(json.dumps(reports, indent=2))
        else:
            console = Console()
            for report in reports:
                console.print(_table(report))
        if not clear and any(not r["inSync"] or r.get("blocked") for r in reports):
            raise typer.Exit(1)
