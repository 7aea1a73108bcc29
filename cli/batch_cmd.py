"""``rebalance batch``: a client of the running system that rebalances many accounts at once.

Starts a batch (``POST /api/rebalance/batch`` on the gateway: ``GATEWAY_URL``, see
:mod:`cli.gateway_client`), shows a progress bar until every
account's run has ended, then a summary with each failed account and its reason.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.gateway_client import GatewayClient, fail

__all__ = ["batch_body", "register"]

console = Console(stderr=True)


def batch_body(
    accounts: list[str],
    *,
    household: str | None,
    all_accounts: bool,
    options: dict[str, Any],
) -> dict[str, Any]:
    """The request body; exactly one of the accounts, ``--household`` or ``--all`` (else exit 2)."""
    chosen = [bool(accounts), household is not None, all_accounts]
    if sum(chosen) != 1:
        fail("name the accounts, or give --household ID, or --all (exactly one)")
    body: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if accounts:
        body["accountIds"] = accounts
    elif household is not None:
        body["householdId"] = household
    else:
        body["all"] = True
    return body


def _follow(client: GatewayClient, batch_id: str, total: int, poll: float) -> dict[str, Any]:
    with Progress(
        TextColumn("[bold]batch[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(batch_id[:8], total=total, detail="")
        while True:
            view = client.json("get", f"/api/batches/{batch_id}")
            done = view["completed"] + view["failed"] + view["cancelled"]
            rate = view.get("accountsPerSecond") or 0
            detail = f"[green]{view['completed']} ok[/green] [red]{view['failed']} failed[/red] {rate:.1f}/s"
            progress.update(task, completed=done, detail=detail)
            if view["status"] == "completed":
                return view
            time.sleep(poll)


def _summary(view: dict[str, Any]) -> None:
    out = Console()
    table = Table(title=f"batch {view['batchId']}", show_header=False)
    for label, key in (
        ("accounts", "total"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
        ("started", "startedAt"),
        ("finished", "finishedAt"),
        ("accounts/s", "accountsPerSecond"),
    ):
        table.add_row(label, str(view.get(key)))
    out.print(table)
    failed = [r for r in view["runs"] if r["status"] == "failed"]
    for run in failed:
        out.print(f"[red]failed[/red] {run['accountId']} (run {run['runId']}): {run.get('error', '')}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch(
        accounts: Annotated[list[str] | None, typer.Argument(help="accounts to rebalance")] = None,
        household: Annotated[str | None, typer.Option("--household", help="every account of this household")] = None,
        all_accounts: Annotated[bool, typer.Option("--all", help="every account of the book")] = False,
        url: Annotated[str | None, typer.Option("--url", envvar="GATEWAY_URL", help="the gateway")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run/--execute", help="simulate (default) or trade")] = True,
        force: Annotated[bool, typer.Option("--force", help="rebalance even inside the band")] = False,
        mode: Annotated[str | None, typer.Option("--mode", help="full|threshold|buy-only|sell-only|harvest|…")] = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="the runs' market date")] = None,
        risk: Annotated[str | None, typer.Option("--risk", help="conservative|moderate|aggressive")] = None,
        max_trade: Annotated[str | None, typer.Option("--max-trade", help="largest trade, dollars")] = None,
        exclude: Annotated[list[str] | None, typer.Option("--exclude", help="a symbol never traded")] = None,
        no_tax: Annotated[bool, typer.Option("--no-tax-optimization")] = False,
        max_in_flight: Annotated[int | None, typer.Option("--max-in-flight", help="runs under way at once")] = None,
        key: Annotated[str | None, typer.Option("--idempotency-key", help="the same key, the same batch")] = None,
        poll: Annotated[float, typer.Option("--poll", help="seconds between progress reads")] = 0.5,
        as_json: Annotated[bool, typer.Option("--json", help="print the final batch as JSON")] = False,
    ) -> None:
        """Rebalance many accounts, each in its own run; a progress bar until done, then a summary."""
        options: dict[str, Any] = {
            "dryRun": dry_run,
            "forceRebalance": force,
            "mode": mode,
            "asOf": as_of,
            "riskOverride": risk,
            "maxTradeAmount": max_trade,
            "excludeSymbols": exclude or None,
            "taxOptimization": False if no_tax else None,
            "maxInFlight": max_in_flight,
        }
        body = batch_body(accounts or [], household=household, all_accounts=all_accounts, options=options)
        headers = {"Idempotency-Key": key} if key else {}
        client = GatewayClient(url)
        started = client.json("post", "/api/rebalance/batch", json=body, headers=headers)
        view = _follow(client, started["batchId"], started["total"], poll)
        if as_json:
            print(json.dumps(view, indent=2))
        else:
            _summary(view)
        if view["failed"]:
            raise typer.Exit(1)
