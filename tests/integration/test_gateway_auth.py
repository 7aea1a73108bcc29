"""With GATEWAY_API_KEYS set, every /api call needs a key; health and docs stay open."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration


async def test_api_keys_guard_the_api(system: InProcessSystem, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"gateway_api_keys": "key-one, key-two"}))

    def calls() -> list[int]:
        with TestClient(app) as client:  # runs the gateway's lifespan: a real connection to the server
            return [
                client.get("/api/portfolio/demo/status").status_code,
                client.get("/api/portfolio/demo/status", headers={"Authorization": "Bearer nope"}).status_code,
                client.get("/api/portfolio/demo/status", headers={"Authorization": "Bearer key-two"}).status_code,
                client.get("/api/portfolio/demo/status", headers={"X-API-Key": "key-one"}).status_code,
                client.post("/api/portfolio/rebalance", json={"accountId": "demo"}).status_code,
                client.get("/health").status_code,
                client.get("/openapi.json").status_code,
            ]

    assert await asyncio.to_thread(calls) == [401, 401, 200, 200, 401, 200, 200]
