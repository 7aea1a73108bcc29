"""``NATS_URL`` lists several servers, comma separated (a cluster's nodes): services and the gateway are
given every one, so they connect while a listed node is down and fail over to the others."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing import NatsServer
from shared.testing.system import build_service

pytestmark = pytest.mark.integration


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"nats://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens there once closed


def test_the_list_is_split_and_trimmed() -> None:
    settings = Settings(nats_url=" nats://n1:4222, nats://n2:4222 ,,nats://n3:4222 ")
    assert settings.nats_servers == ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]


async def test_a_service_connects_through_the_listed_node_that_is_up(nats_server: NatsServer) -> None:
    settings = Settings(nats_url=f"{_dead_url()},{nats_server.url},{_dead_url()}", seed_demo=False)
    runtime = build_service("market_data", settings)
    await runtime.start()
    try:
        assert runtime.broker.connection.is_connected
        assert runtime.broker.connection.connected_url is not None
        assert runtime.broker.connection.connected_url.port == int(nats_server.url.rsplit(":", 1)[1])
    finally:
        await runtime.stop()


def test_the_gateway_connects_through_the_listed_node_that_is_up(nats_server: NatsServer) -> None:
    settings = Settings(nats_url=f"{_dead_url()},{nats_server.url}", seed_demo=False)
    with TestClient(create_app(settings)) as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["nats"] == "connected"
