"""A provider blip (timeouts, rate limits, 5xx) is transient: the step is retried and HTTP answers 503,
never a non-retryable 400. Bad input stays bad input."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from contracts.queries import HistoryQuery
from services.market_data.domain import HttpMarketDataProvider, ManualClock, RetryPolicy
from services.market_data.handlers import MarketDataService
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError, NotFoundError, TransientError, is_retryable
from shared.settings import Settings


def _service(handler: httpx.MockTransport) -> MarketDataService:
    provider = HttpMarketDataProvider(
        "https://quotes.example",
        clock=ManualClock(),
        client=httpx.Client(transport=handler),
        retry=RetryPolicy(max_attempts=2),
    )
    return MarketDataService(ServiceRuntime("market_data", Settings()), provider)


def _always(status: int | None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if status is None:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(status, headers={"Retry-After": "1"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("status", [None, 429, 503])
async def test_timeouts_rate_limits_and_5xx_are_transient(status: int | None) -> None:
    service = _service(_always(status))
    with pytest.raises(TransientError) as quotes_error:
        await service.quotes(["VTI"], dt.date(2026, 5, 1))
    assert is_retryable(quotes_error.value)
    query = HistoryQuery(symbols=["VTI"], start=dt.date(2026, 4, 1), end=dt.date(2026, 5, 1))
    with pytest.raises(TransientError):
        await service._call(service.history, query, dt.date(2026, 5, 1))


@pytest.mark.parametrize(("status", "error"), [(404, NotFoundError), (400, InvalidInputError)])
async def test_unknown_symbols_and_refusals_are_not_transient(status: int, error: type[Exception]) -> None:
    service = _service(_always(status))
    with pytest.raises(error) as caught:
        await service.quotes(["VTI"], dt.date(2026, 5, 1))
    assert not isinstance(caught.value, TransientError) and not is_retryable(caught.value)
