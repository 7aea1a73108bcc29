"""Build the execution service from settings: ``python -m services.execution``."""

from __future__ import annotations

from services.execution.handlers import ExecutionService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.costs import cost_model_from
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, ExecutionService]:
    runtime = ServiceRuntime("execution", settings, clock=clock)
    model = cost_model_from(settings)
    service = ExecutionService(runtime, model)
    service.register()
    return runtime, service
