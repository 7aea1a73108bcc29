"""Build the rebalancing service from settings: ``python -m services.rebalancing``."""

from __future__ import annotations

from services.rebalancing.handlers import RebalancingService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, RebalancingService]:
    runtime = ServiceRuntime("rebalancing", settings, clock=clock)
    service = RebalancingService(runtime)
    service.register()
    return runtime, service
