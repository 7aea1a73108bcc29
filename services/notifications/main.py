"""Build the notifications service from settings: ``python -m services.notifications``."""

from __future__ import annotations

from services.notifications.handlers import NotificationService
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings

__all__ = ["build"]


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, NotificationService]:
    runtime = ServiceRuntime("notifications", settings, clock=clock)
    service = NotificationService(runtime)
    service.register()
    return runtime, service
