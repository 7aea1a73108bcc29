"""Build the analysis service from settings: ``python -m services.analysis``."""

from __future__ import annotations

from services.analysis.handlers import AnalysisService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, AnalysisService]:
    runtime = ServiceRuntime("analysis", settings, clock=clock)
    service = AnalysisService(runtime)
    service.register()
    return runtime, service
