"""Build the market data service from settings: ``python -m services.market_data``."""

from __future__ import annotations

from services.market_data.handlers import MarketDataService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, MarketDataService]:
    runtime = ServiceRuntime("market_data", settings, clock=clock)
    service = MarketDataService(runtime)
    service.register()
    return runtime, service
