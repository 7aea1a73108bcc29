"""Build the execution service from settings: ``python -m services.execution``."""

from __future__ import annotations

from services.execution.domain import CostModel
from services.execution.handlers import ExecutionService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, ExecutionService]:
    runtime = ServiceRuntime("execution", settings, clock=clock)
    model = CostModel(
        commission_per_trade=settings.commission_per_trade,
        commission_bps=settings.commission_bps,
        spread_bps=settings.spread_bps,
    )
    service = ExecutionService(runtime, model)
    service.register()
    return runtime, service
