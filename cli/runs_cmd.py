"""Find and follow runs on the running system (a client of the gateway; ``GATEWAY_URL``):

``rebalance runs``, ``status RUN``, ``watch RUN``, ``cancel RUN``, ``approve RUN``, ``reject RUN``,
``report RUN [--out FILE] [--csv FILE] [--open]``. Bad input or an unknown run exits 2; an action the
run's state refuses (cancel of a finished run, approve of a run not waiting) exits 1.
"""

from __future__ import annotations

import json
import time
import webbrowser
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cli.gateway_client import GatewayClient, fail

__all__ = ["register", "steps_table"]

_FINISHED = ("completed", "failed", "cancelled")
_STATUS_STYLE = {
    "completed": "green",
    "running": "cyan",
    "retrying": "yellow",
    "failed": "red",
    "cancelled": "magenta",
    "skipped": "dim",
    "pending": "dim",
}

Url = Annotated[str | None, typer.Option("--url", envvar="GATEWAY_URL", help="the gateway (default :8000)")]
RunArg = Annotated[str, typer.Argument(help="the run's id")]


def _styled(status: str) -> str:
    style = _STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def steps_table(run: dict[str, Any]) -> Table:
    """The run's steps as a table (status, attempts, duration, detail or error)."""
    title = f"run {run['runId']} · account {run.get('accountId')} · {_styled(run['status'])}"
    if run.get("awaitingApproval"):
        title += " · [yellow]waiting for approval[/]"
    table = Table("#", "step", "status", "attempts", "ms", "detail / error", title=title)
    for number, step in enumerate(run.get("steps", []), start=1):
        ms = step.get("durationMs")
        marker = "▶ " if step["name"] == run.get("currentStep") and run["status"] not in _FINISHED else ""
        table.add_row(
            str(number),
            marker + step["name"],
            _styled(step["status"]),
            str(step.get("attempts", 0)),
            f"{ms:.0f}" if ms else "",
            step.get("error") or step.get("detail") or "",
        )
    return table


def _exit_code(run: dict[str, Any]) -> int:
    return 0 if run["status"] == "completed" else 1


def register(app: typer.Typer) -> None:
    console = Console()

    @app.command("runs")
    def runs(
        account: Annotated[str | None, typer.Option("--account", help="only this account")] = None,
        status: Annotated[
            str | None, typer.Option("--status", help="pending|running|completed|failed|cancelled")
        ] = None,
        since: Annotated[str | None, typer.Option("--since", help="created at or after (ISO date or instant)")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
        all_pages: Annotated[bool, typer.Option("--all", help="follow the cursor to the last page")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        url: Url = None,
    ) -> None:
        """List runs, newest first."""
        client = GatewayClient(url)
        params: dict[str, Any] = {"limit": limit}
        params.update({k: v for k, v in (("accountId", account), ("status", status), ("since", since)) if v})
        rows: list[dict[str, Any]] = []
        while True:
            page = client.json("GET", "/api/runs", params=params)
            rows.extend(page["runs"])
            if not all_pages or not page.get("nextCursor"):
                break
            params["cursor"] = page["nextCursor"]
        if as_json:
            print(json.dumps(rows, indent=2))
            return
        table = Table("run", "account", "status", "step", "created", "as of", "dry", "trades", "decision / error")
        for row in rows:
            table.add_row(
                row["runId"], row["accountId"], _styled(row["status"]), row.get("currentStep") or "",
                row["createdAt"][:19].replace("T", " "), row.get("asOf") or "", "yes" if row["dryRun"] else "no",
                "" if row.get("trades") is None else str(row["trades"]), row.get("error") or row.get("decision") or "",
            )  # fmt: skip
        console.print(table)
        if not all_pages and len(rows) == limit:
            console.print(f"[dim]showing {limit}; --limit N or --all for more[/]")

    @app.command("status")
    def status(run_id: RunArg, as_json: Annotated[bool, typer.Option("--json")] = False, url: Url = None) -> None:
        """A run's status and every step."""
        run = GatewayClient(url).json("GET", f"/api/runs/{run_id}")
        if as_json:
            print(json.dumps(run, indent=2))
        else:
            console.print(steps_table(run))
            if run.get("error"):
                console.print(f"[red]error:[/] {run['error']}")
        raise typer.Exit(_exit_code(run) if run["status"] in _FINISHED else 0)

    @app.command("watch")
    def watch(
        run_id: RunArg,
        interval: Annotated[float, typer.Option("--interval", min=0.05, help="seconds between looks")] = 0.5,
        timeout: Annotated[float, typer.Option("--timeout", help="give up after this many seconds")] = 600.0,
        url: Url = None,
    ) -> None:
        """Follow a run live, step by step, until it finishes (exit 0 completed, 1 failed or cancelled)."""
        client = GatewayClient(url)
        deadline = time.monotonic() + timeout
        run = client.json("GET", f"/api/runs/{run_id}")
        with Live(steps_table(run), console=console, refresh_per_second=8) as live:
            while run["status"] not in _FINISHED:
                if time.monotonic() > deadline:
                    fail(f"run {run_id} still {run['status']} after {timeout:.0f}s", 1)
                time.sleep(interval)
                run = client.json("GET", f"/api/runs/{run_id}")
                live.update(steps_table(run))
        if run.get("error"):
            console.print(f"[red]error:[/] {run['error']}")
        raise typer.Exit(_exit_code(run))

    @app.command("cancel")
    def cancel(run_id: RunArg, url: Url = None) -> None:
        """Cancel a run that has not reached execute-trades (a finished run: exit 1)."""
        answer = GatewayClient(url).json("POST", f"/api/runs/{run_id}/cancel")
        console.print(answer.get("message", "cancel requested"))

    def _decide(run_id: str, verb: str, by: str, reason: str, url: str | None) -> None:
        answer = GatewayClient(url).json("POST", f"/api/runs/{run_id}/{verb}", json={"by": by, "reason": reason})
        console.print(answer.get("message", f"{verb} recorded"))

    @app.command("approve")
    def approve(
        run_id: RunArg,
        by: Annotated[str, typer.Option("--by", help="who approves")] = "cli",
        reason: Annotated[str, typer.Option("--reason")] = "",
        url: Url = None,
    ) -> None:
        """Approve a run waiting at its approval step: it goes on to trade."""
        _decide(run_id, "approve", by, reason, url)

    @app.command("reject")
    def reject(
        run_id: RunArg,
        by: Annotated[str, typer.Option("--by", help="who rejects")] = "cli",
        reason: Annotated[str, typer.Option("--reason")] = "",
        url: Url = None,
    ) -> None:
        """Reject a run waiting at its approval step: it reports without trading."""
        _decide(run_id, "reject", by, reason, url)

    @app.command("report")
    def report(
        run_id: RunArg,
        out: Annotated[Path | None, typer.Option("--out", help="where to save the HTML report")] = None,
        blotter: Annotated[Path | None, typer.Option("--csv", help="also save the trade blotter here")] = None,
        open_it: Annotated[bool, typer.Option("--open", help="open the saved report in a browser")] = False,
        url: Url = None,
    ) -> None:
        """Save a completed run's HTML report (default report-RUN.html) and optionally its blotter."""
        client = GatewayClient(url)
        page = client.call("GET", f"/api/runs/{run_id}/report.html").text
        target = out or Path(f"report-{run_id}.html")
        target.write_text(page, encoding="utf-8")
        console.print(f"report saved to {target}")
        if blotter is not None:
            blotter.write_text(client.call("GET", f"/api/runs/{run_id}/trades.csv").text, encoding="utf-8")
            console.print(f"blotter saved to {blotter}")
        if open_it:
            webbrowser.open(target.resolve().as_uri())
