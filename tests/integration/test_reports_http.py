"""The report page and the blotter over HTTP, from a real dry run of the demo account."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.reports import BLOTTER_COLUMNS
from shared.settings import Settings
from shared.testing.system import InProcessSystem
from tests.integration.waits import wait_awaiting_approval

pytestmark = pytest.mark.integration


async def test_report_html_and_trades_csv_of_a_completed_run(system: InProcessSystem, settings: Settings) -> None:
    run_id = await system.request_run("demo", dry_run=True)
    record = await system.wait_for_run(run_id)
    assert record.status == "completed" and record.report is not None
    report = record.report
    app = create_app(settings)

    def calls() -> tuple[object, ...]:
        with TestClient(app) as client:
            return (
                client.get(f"/api/runs/{run_id}/report.html"),
                client.get(f"/api/runs/{run_id}/trades.csv"),
                client.get("/api/runs/no-such-run/report.html"),
                client.get("/api/runs/no-such-run/trades.csv"),
            )

    page, blotter, missing_page, missing_csv = await asyncio.to_thread(calls)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    html = page.text  # type: ignore[attr-defined]
    assert "allocation-chart" in html and "drift-chart" in html
    assert html.count("<tr class='trade'>") == len(report.actions) > 0
    assert f"${report.portfolio_value:,.2f}" in html
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", html)

    assert blotter.status_code == 200 and blotter.headers["content-type"].startswith("text/csv")  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(blotter.text)))  # type: ignore[attr-defined]
    assert tuple(rows[0]) == BLOTTER_COLUMNS
    assert sorted((r["symbol"], r["side"], Decimal(r["shares"])) for r in rows) == sorted(
        (a.symbol, a.action, a.shares) for a in report.actions
    )
    assert all(r["account"] == "demo" and r["reason"] for r in rows)
    bnd = next(r for r in rows if r["symbol"] == "BND")
    assert bnd["side"] == "sell" and bnd["lots"].startswith("demo-bnd-2:")
    assert missing_page.status_code == 404 and missing_csv.status_code == 404  # type: ignore[attr-defined]


async def test_report_of_an_unfinished_run_is_409(system: InProcessSystem, settings: Settings) -> None:
    run_id = await system.request_run("demo", dry_run=True, require_approval=True)
    await wait_awaiting_approval(system, run_id)
    app = create_app(settings)

    def call() -> int:
        with TestClient(app) as client:
            return client.get(f"/api/runs/{run_id}/report.html").status_code

    assert await asyncio.to_thread(call) == 409
