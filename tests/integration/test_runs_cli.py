"""Finding and following runs: GET /api/runs with filters and cursor pages, and the CLI commands
(runs, status, watch, approve, cancel, report) against a real gateway over HTTP (GATEWAY_URL)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app
from shared.log import configure_logging
from shared.settings import Settings
from shared.testing.gateway_server import serve_gateway
from shared.testing.system import InProcessSystem
from tests.integration.waits import wait_awaiting_approval

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    """The gateway's access log would print to the stdout the CLI runner captures: send it to stderr."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    configure_logging("tests", level="WARNING")
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"GATEWAY_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


async def test_list_follow_and_act_on_runs(system: InProcessSystem, settings: Settings, tmp_path: Path) -> None:
    first = await system.request_run("demo", dry_run=True)
    await system.wait_for_run(first)
    second = await system.request_run("demo-growth", dry_run=True)
    await system.wait_for_run(second)
    third = await system.request_run("demo", dry_run=True)
    await system.wait_for_run(third)

    with serve_gateway(settings) as url:

        def http_pages() -> tuple[list[list[str]], int, int]:
            pages, cursor = [], None
            while True:
                params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
                body = httpx.get(f"{url}/api/runs", params=params).json()
                pages.append([r["runId"] for r in body["runs"]])
                cursor = body["nextCursor"]
                if cursor is None:
                    return (
                        pages,
                        httpx.get(f"{url}/api/runs", params={"cursor": "bogus"}).status_code,
                        httpx.get(f"{url}/api/runs", params={"status": "nope"}).status_code,
                    )

        pages, bad_cursor, bad_status = await asyncio.to_thread(http_pages)
        assert pages == [[third, second], [first]]
        assert bad_cursor == 422 and bad_status == 422

        code, out = await asyncio.to_thread(_cli, url, "runs", "--account", "demo", "--json")
        assert code == 0 and [r["runId"] for r in json.loads(out)] == [third, first]
        code, out = await asyncio.to_thread(_cli, url, "runs", "--limit", "1", "--all", "--json")
        assert code == 0 and [r["runId"] for r in json.loads(out)] == [third, second, first]
        code, out = await asyncio.to_thread(_cli, url, "runs", "--status", "failed", "--json")
        assert code == 0 and json.loads(out) == []

        code, out = await asyncio.to_thread(_cli, url, "status", first)
        assert code == 0 and "generate-report" in out and "completed" in out
        code, out = await asyncio.to_thread(_cli, url, "status", "no-such-run")
        assert code == 2 and "unknown run" in out

        code, out = await asyncio.to_thread(_cli, url, "cancel", first)  # finished: refused
        assert code == 1 and "409" in out and "already completed" in out

        html, blotter = tmp_path / "r.html", tmp_path / "t.csv"
        code, _ = await asyncio.to_thread(_cli, url, "report", first, "--out", str(html), "--csv", str(blotter))
        assert code == 0
        assert "allocation-chart" in html.read_text() and blotter.read_text().startswith("account,symbol,side")

        # A run that waits for approval: approve it from the CLI, then watch it to the end.
        waiting = await system.request_run("demo", dry_run=True, require_approval=True)
        await wait_awaiting_approval(system, waiting)
        code, out = await asyncio.to_thread(_cli, url, "approve", waiting, "--by", "pm@firm", "--reason", "ok")
        assert code == 0, out
        code, out = await asyncio.to_thread(_cli, url, "watch", waiting, "--interval", "0.1", "--timeout", "60")
        assert code == 0 and "completed" in out and "approval" in out
