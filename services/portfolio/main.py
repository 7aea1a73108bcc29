"""Build the portfolio service from settings: ``python -m services.portfolio``."""

from __future__ import annotations

from services.portfolio.handlers import PortfolioService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, PortfolioService]:
    runtime = ServiceRuntime("portfolio", settings, clock=clock)
    service = PortfolioService(runtime)
    service.register()
    return runtime, service
