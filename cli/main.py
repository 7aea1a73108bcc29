"""The ``rebalance`` command.

Offline tools over the services' pure domain code (``plan``, ``tax realized``, ``risk``), the local
supervisor behind ``make run`` (``up``), and a client of the running system (``run``, ``runs``, ``status``,
``watch``, ``cancel``, ``approve``, ``reject``, ``report``). This package is the only code that may import
several services.

Sub-commands are loaded lazily: ``rebalance --help`` imports none of them (the offline tools pull in
cvxpy, pandas and scipy, seconds of start-up); a command's module is imported when that command runs or
its own help is asked for. Each module has ``register(app)``, which attaches its commands to a Typer app.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer import _click as click  # typer's own click (not the click package)
from typer.core import TyperCommand, TyperGroup

__all__ = ["COMMANDS", "app"]

COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("cli.system_cmd", "Start NATS, every service and the gateway; run a demo (what make run runs)."),
    "run": ("cli.system_cmd", "Start a run on the running system and print its report."),
    "runs": ("cli.runs_cmd", "List runs (newest first): --account, --status, --since, --limit, --all."),
    "status": ("cli.runs_cmd", "A run's status and every step."),
    "watch": ("cli.runs_cmd", "Follow a run live, step by step, until it finishes."),
    "cancel": ("cli.runs_cmd", "Cancel a run that has not reached execute-trades."),
    "approve": ("cli.runs_cmd", "Approve a run waiting at its approval step."),
    "reject": ("cli.runs_cmd", "Reject a run waiting at its approval step."),
    "report": ("cli.runs_cmd", "Save a run's HTML report (and --csv blotter); --open opens it in a browser."),
    "reconcile": ("cli.reconcile_cmd", "The ledger against the broker: [ACCOUNT], --clear lifts a break."),
    "batch": ("cli.batch_cmd", "Rebalance many accounts at once (each its own run): a progress bar, then a summary."),
    "plan": ("cli.plan_cmd", "Plan the trades for one account file, offline, from the shipped prices."),
    "tax": ("cli.tax_cmd", "Tax tools: realized gains, wash sales."),
    "risk": ("cli.risk_cmd", "Risk metrics of a fixed-weight portfolio over the shipped price history."),
    "dlq": ("cli.dlq_cmd", "The dead-letter queue over NATS: list, show ID, replay ID."),
    "accounts": ("cli.accounts_cmd", "The book of the running system: load FILE --replace|--merge, show ID."),
}
"""Command name -> (module whose ``register(app)`` defines it, one-line help shown by ``--help``)."""


class LazyGroup(TyperGroup):
    """A Typer group whose sub-commands are imported only when one of them is used."""

    _describing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        module_name, short_help = COMMANDS[cmd_name]
        if self._describing:  # the group's own help: the one-line description, nothing imported
            return TyperCommand(cmd_name, help=short_help, short_help=short_help)
        module = importlib.import_module(module_name)
        holder = typer.Typer()
        holder.callback()(lambda: None)  # always a group, so each command keeps its name
        module.register(holder)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        command = group.commands.get(cmd_name)
        if command is not None:
            self.add_command(command, cmd_name)
        return command

    def format_help(self, ctx: click.Context, formatter: Any) -> None:
        self._describing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._describing = False


app = typer.Typer(
    name="rebalance",
    help="Tax-aware portfolio rebalancing: offline tools and a client of the running services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _main() -> None:
    """Tax-aware portfolio rebalancing: offline tools and a client of the running services."""


if __name__ == "__main__":
    app()
