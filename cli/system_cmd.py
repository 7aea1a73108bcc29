"""``rebalance up`` (the local system behind ``make run``) and ``rebalance run`` (a client)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from cli.gateway_client import auth_headers, configured_key
from cli.http_auth import gateway_needs_key
from cli.report_view import print_run
from cli.supervisor import SERVICES, Supervisor
from shared.redact import redact_urls

__all__ = ["register", "wait_for_run"]

console = Console()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for_run(base_url: str, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll ``GET /api/runs/{runId}`` until the run is finished (and its notification sent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{base_url}/api/runs/{run_id}", timeout=10.0, headers=auth_headers())
        if response.status_code == 200:
            run: dict[str, Any] = response.json()
            notify = next((s for s in run.get("steps", []) if s["name"] == "send-notifications"), None)
            finished = run["status"] in ("completed", "failed", "cancelled")
            if finished and (notify is None or notify["status"] not in ("pending", "running", "retrying")):
                return run
        time.sleep(0.2)
    raise TimeoutError(f"run {run_id} did not finish within {timeout}s")


def household_file_problem() -> str | None:
    """Why ``HOUSEHOLD_FILE`` cannot be loaded (its path and the field), or ``None``: checked before any
    process starts, so a bad file is said on the terminal rather than in a service's log."""
    path = os.environ.get("HOUSEHOLD_FILE", "").strip()
    if not path:
        return None
    from services.portfolio.domain.household import load_book
    from shared.errors import InvalidInputError

    try:
        load_book(path)
    except OSError as exc:
        return f"HOUSEHOLD_FILE {path}: {exc.strerror or exc}"
    except InvalidInputError as exc:
        return f"HOUSEHOLD_FILE {path}: {exc.message}"
    return None


def start_run(base_url: str, body: dict[str, Any]) -> str:
    response = httpx.post(f"{base_url}/api/portfolio/rebalance", json=body, timeout=30.0, headers=auth_headers())
    if response.status_code != 202:
        console.print(f"[red]{response.status_code}[/red] {response.text}", highlight=False)
        raise typer.Exit(1)
    return str(response.json()["runId"])


def register(app: typer.Typer) -> None:
    @app.command("up")
    def up(
        port: Annotated[int, typer.Option("--port", envvar="GATEWAY_PORT", help="gateway port")] = 8000,
        nats_url: Annotated[str | None, typer.Option("--nats-url", envvar="NATS_URL", help="use this server")] = None,
        demo_run: Annotated[bool, typer.Option("--demo-run/--no-demo-run", help="run a dry rebalance of demo")] = True,
        exit_after: Annotated[bool, typer.Option("--exit", help="stop after the demo run (no waiting)")] = False,
        workdir: Annotated[Path, typer.Option("--workdir", help="JetStream store and logs")] = Path("var"),
    ) -> None:
        """Start NATS (unless --nats-url), every service as its own process and the gateway; run a demo."""
        problem = household_file_problem()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            raise typer.Exit(2)
        if not _port_free(port):
            console.print(f"[red]port {port} is in use[/red]: set GATEWAY_PORT to another port")
            raise typer.Exit(1)
        nats_port = 4222 if nats_url is None and _port_free(4222) else -1
        supervisor = Supervisor(workdir, nats_url=nats_url, nats_port=nats_port, gateway_port=port)
        stop = threading.Event()

        def _stop(signum: int, frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            supervisor.start_nats()
            where = "given by NATS_URL" if nats_url else f"store: {workdir / 'nats'}"
            console.print(f"NATS JetStream at {redact_urls(supervisor.nats_url)} ({where})")
            for name in (*SERVICES, "gateway"):
                supervisor.start_service(name)
            console.print(f"started {len(SERVICES)} services and the gateway; logs in {supervisor.logs}")
            try:
                supervisor.wait_healthy()
            except (RuntimeError, TimeoutError) as exc:  # said on the terminal, with the service's own words
                print(f"error: {exc}", file=sys.stderr)
                for line in supervisor.last_errors():
                    print(f"  {line}", file=sys.stderr)
                raise typer.Exit(1) from None
            base = supervisor.gateway_url
            if demo_run and gateway_needs_key() and not configured_key():
                console.print(
                    "demo run skipped: the gateway needs an API key (GATEWAY_KEYS_FILE or GATEWAY_API_KEYS is set); "
                    "set REBALANCE_API_KEY to a key with the read and trade roles to run it"
                )
            elif demo_run:
                console.print("[bold]Dry-run rebalance of account demo[/bold] (POST /api/portfolio/rebalance)")
                run_id = start_run(base, {"accountId": "demo", "dryRun": True})
                print_run(wait_for_run(base, run_id), console)
            key = ' -H "authorization: Bearer $REBALANCE_API_KEY"' if gateway_needs_key() else ""  # never the key
            console.print(
                f"\nGateway  {base}\nAPI docs {base}/docs\nHealth   {base}/health\n"
                f"Run      curl -s -X POST {base}/api/portfolio/rebalance{key} -H 'content-type: application/json' "
                '-d \'{"accountId":"demo","dryRun":true}\'\n'
                f"Status   curl -s{key} {base}/api/runs/<runId>",
                soft_wrap=True,
            )
            if exit_after:
                return
            console.print("Running. Press Ctrl-C to stop.")
            while not stop.is_set():
                for name, process in list(supervisor.processes.items()):
                    if process.poll() is not None:
                        console.print(f"[yellow]{name} exited ({process.returncode}); restarting[/yellow]")
                        supervisor.start_service(name)
                stop.wait(1.0)
        finally:
            console.print("stopping…")
            supervisor.stop_all()
            console.print("stopped")

    @app.command("run")
    def run(
        account_id: Annotated[str, typer.Argument(help="account to rebalance")],
        url: Annotated[str | None, typer.Option("--url", help="default GATEWAY_URL, else :GATEWAY_PORT")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run/--execute")] = True,
        force: Annotated[bool, typer.Option("--force")] = False,
        risk: Annotated[str | None, typer.Option("--risk", help="conservative|moderate|aggressive")] = None,
    ) -> None:
        """Start a run on the running system and print its report."""
        from cli.gateway_client import gateway_url

        url = url or gateway_url()
        body: dict[str, Any] = {"accountId": account_id, "dryRun": dry_run, "forceRebalance": force}
        if risk:
            body["riskOverride"] = risk
        try:
            run_id = start_run(url, body)
            print_run(wait_for_run(url, run_id), console)
        except httpx.HTTPError as exc:
            print(f"error: cannot reach the gateway at {url}: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
