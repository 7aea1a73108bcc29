"""A query whose service needs another that is not up yet (start-up) answers 503 with the reason and
logs a warning, never an error with a traceback."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from contracts import subjects
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.errors import TransientError
from shared.settings import Settings

pytestmark = pytest.mark.integration


async def test_transient_failure_of_a_query_is_a_503_without_traceback(settings: Settings) -> None:
    runtime = ServiceRuntime("portfolio", settings)

    async def needs_market_data(body: bytes) -> object:
        raise TransientError("market_data.v1.query.quotes: no answer (NoRespondersError)")

    runtime.query(subjects.PORTFOLIO_QUERY_STATUS, needs_market_data)
    await runtime.start()
    try:
        with capture_logs() as logs, pytest.raises(TransientError, match="no answer"):
            await request(runtime.broker, subjects.PORTFOLIO_QUERY_STATUS, {"account_id": "demo"}, dict)
    finally:
        await runtime.stop()
    assert [entry["log_level"] for entry in logs if "query" in entry["event"]] == ["warning"]
    assert not any(entry["log_level"] == "error" for entry in logs)
