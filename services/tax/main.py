"""Build the tax service from settings: ``python -m services.tax``."""

from __future__ import annotations

from services.tax.handlers import TaxService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, TaxService]:
    runtime = ServiceRuntime("tax", settings, clock=clock)
    service = TaxService(runtime)
    service.register()
    return runtime, service
