"""One look-back rule everywhere (shared.market_window): GET /risk and a run of the same account and date
read the same 756 trading days; /api/market/analysis past the data answers the last day's analysis and
says so."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.market_window import RISK_LOOKBACK_SESSIONS
from shared.settings import Settings
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration


async def _get(settings: Settings, *paths: str) -> list[Any]:
    def call() -> list[Any]:
        with TestClient(create_app(settings)) as client:
            answers = [client.get(path) for path in paths]
            for answer in answers:
                assert answer.status_code == 200, answer.text
            return [answer.json() for answer in answers]

    return await asyncio.to_thread(call)


async def test_risk_and_a_run_count_the_same_trading_days(system: InProcessSystem, settings: Settings) -> None:
    run_id = await system.request_run("demo", dry_run=True, as_of=date(2026, 5, 1))
    record = await system.wait_for_run(run_id)
    assert record.status == "completed" and record.report is not None
    run_risk = record.report.analysis.risk
    assert run_risk is not None
    (answer,) = await _get(settings, "/api/portfolio/demo/risk?asOf=2026-05-01")
    metrics = answer["risk"]["metrics"]
    assert metrics["observations"] == run_risk.observations == RISK_LOOKBACK_SESSIONS
    assert (metrics["start"], metrics["end"]) == (str(run_risk.start), str(run_risk.end))
    assert metrics["volatility"] == pytest.approx(run_risk.volatility, rel=1e-9)
    assert answer["notice"] is None
    # a Sunday: the same window, and the answer says which day it used
    (sunday,) = await _get(settings, "/api/portfolio/demo/risk?asOf=2026-05-03")
    assert sunday["risk"]["metrics"]["end"] == "2026-05-01"
    assert sunday["risk"]["metrics"]["observations"] == RISK_LOOKBACK_SESSIONS
    assert "2026-05-03" in sunday["notice"] and "2026-05-01" in sunday["notice"]


async def test_market_analysis_past_the_data_is_the_last_days_analysis(
    system: InProcessSystem, settings: Settings
) -> None:
    on_last, past = await _get(settings, "/api/market/analysis?asOf=2026-05-01", "/api/market/analysis?asOf=2030-01-01")
    assert past["analysis"] == on_last["analysis"]  # the last day's window, not the requested date's
    assert past["analysis"]["asOf"] == "2026-05-01"
    assert on_last["notice"] is None
    assert past["notice"] == (
        "no market data on 2030-01-01: figures are as of 2026-05-01, the last trading day with data before it"
    )
