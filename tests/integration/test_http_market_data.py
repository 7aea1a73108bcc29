"""A whole run with the market data service on its HTTP provider, against a local chart API server."""

from __future__ import annotations

from datetime import date

import pytest

from shared.settings import Settings
from shared.testing.system import running_system
from tests.integration.chart_api_server import chart_api
from tests.integration.expected import account_value, vix_on

pytestmark = pytest.mark.integration


async def test_a_run_on_the_http_provider_gives_the_same_report(settings: Settings) -> None:
    with chart_api() as (url, requests):
        http = settings.model_copy(
            update={
                "market_data_provider": "http",
                "market_data_url": url,
                "as_of_date": date(2026, 5, 1),
                "market_data_rate_per_second": 500.0,  # a local server: a snapshot prices every security
            }
        )
        async with running_system(http) as system:
            record = await system.wait_for_run(await system.request_run("demo", dry_run=True), timeout=120)
    assert record.status == "completed", record.error
    report = record.report
    assert report is not None
    assert report.portfolio_value == account_value("demo", "2026-05-01")
    assert report.analysis.market_conditions.volatility_index == pytest.approx(vix_on("2026-05-01"))
    assert any(path.endswith("/VTI") for path in requests) and any("%5EVIX" in p for p in requests)
