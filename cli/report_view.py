"""Print a run and its report for people (rich tables)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_run"]


def _pct(value: Any) -> str:
    return f"{float(value):.2f}%" if value is not None else "-"


def print_run(run: dict[str, Any], console: Console | None = None) -> None:
    """``run`` is the JSON of ``GET /api/runs/{runId}``."""
    console = console or Console()
    console.print(f"[bold]Run {run['runId']}[/bold]  account {run.get('accountId')}  status [bold]{run['status']}[/]")
    steps = Table("step", "status", "attempts", "ms", "detail / error", title="Steps")
    for step in run.get("steps", []):
        detail = step.get("error") or step.get("detail") or ""
        ms = step.get("durationMs")
        steps.add_row(step["name"], step["status"], str(step["attempts"]), f"{ms:.1f}" if ms else "", detail)
    console.print(steps)
    report = run.get("report")
    if not report:
        if run.get("error"):
            console.print(f"[red]error:[/red] {run['error']}")
        return
    analysis = report["analysis"]
    market = analysis["marketConditions"]
    console.print(
        f"Portfolio value ${float(report['portfolioValue']):,.2f} as of {report.get('asOf')}; "
        f"needs rebalancing: {analysis['needsRebalancing']}; decision: {analysis.get('decision')}"
    )
    console.print(
        f"Market: {market['marketSentiment']}, VIX {market['volatilityIndex']:.2f}, timing {market['marketTiming']}"
    )
    alloc = Table("asset class", "before", "target", "after", title="Allocation")
    before, after, target = report["allocationBefore"], report["allocationAfter"], report["targetAllocation"]
    for name in sorted(set(before) | set(target)):
        alloc.add_row(name, _pct(before.get(name)), _pct(target.get(name, 0)), _pct(after.get(name)))
    console.print(alloc)
    actions = Table("action", "symbol", "shares", "value", "tax", "reason", title=f"Trades ({report['solver']})")
    for action in report["actions"]:
        tax = action.get("taxImplication")
        tax_text = f"{float(tax['gainLoss']):,.2f} {tax['holdingPeriod']}" if tax else ""
        actions.add_row(
            action["action"],
            action["symbol"],
            str(action["shares"]),
            f"${float(action['estimatedValue']):,.2f}",
            tax_text,
            action["reason"],
        )
    console.print(actions)
    execution = report["execution"]
    console.print(
        f"Executed: {execution['executed']} (dry run: {execution['dryRun']}); trades {len(execution['trades'])}, "
        f"simulated {len(execution.get('simulatedTrades', []))}; commissions ${float(execution['commissions']):,.2f}"
    )
    tax = analysis.get("taxOptimization")
    if tax:
        console.print(
            f"Tax: plan's estimated tax ${float(tax['estimatedTax']):,.2f}; wash-sale risk {tax['washSaleRisk']}"
        )
    for line in report["recommendations"]:
        console.print(f" • {line}")
