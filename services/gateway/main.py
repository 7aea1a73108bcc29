"""Serve the gateway: ``python -m services.gateway`` (uvicorn on GATEWAY_HOST:GATEWAY_PORT)."""

from __future__ import annotations

import uvicorn

from services.gateway.app import create_app
from shared.log import configure_logging
from shared.settings import Settings

__all__ = ["serve"]


def serve(settings: Settings | None = None) -> None:
    settings = settings or Settings(service_name="gateway")
    configure_logging("gateway", level=settings.log_level, json=settings.log_json)
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port, log_level="warning")
