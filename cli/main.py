"""The ``rebalance`` command.

Offline tools over the services' pure domain code (``plan``, ``tax realized``, ``risk``), the local
supervisor behind ``make run`` (``up``), and a client of the running system (``run``, ``status``).
This package is the only code that may import several services.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="rebalance",
    help="Tax-aware portfolio rebalancing: offline tools and a client of the running services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    """Attach the sub-commands; each lives in its own module."""
    import importlib

    for module_name in ("cli.tax_cmd", "cli.plan_cmd", "cli.risk_cmd", "cli.system_cmd"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a sub-command still being written
            if exc.name != module_name:
                raise
            continue
        module.register(app)


_register()

if __name__ == "__main__":
    app()
