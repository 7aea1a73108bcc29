"""A bounded schemathesis run against the gateway's OpenAPI document: every operation, cases generated from
the schema (valid and invalid), sent over HTTP to a real gateway on a real system (nats-server, every
service in one process). No case may answer 5xx, and every answer must match the schema the document gives
for its status (the response models). Derandomized: the same cases on every run.

The number of cases sent is printed (``-s`` to see it) and asserted to be at least ten per operation."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing import NatsServer
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 20  # per operation: the whole module stays well under a minute
CASES: list[str] = []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    with NatsServer(workdir / "nats") as nats:
        config = Settings(
            nats_url=nats.url,
            step_timeout_seconds=20.0,
            retry_backoff_seconds=0.2,
            nak_delay_seconds=0.05,
            max_deliver=3,
            webhook_url=None,
            gateway_rate_limit_per_second=100_000,
        )
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        system = InProcessSystem(config)
        asyncio.run_coroutine_threadsafe(system.start(), loop).result(120)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="error"))
        serving = threading.Thread(target=server.run, daemon=True)
        serving.start()
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            serving.join(30)
            asyncio.run_coroutine_threadsafe(system.stop(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


def _fuzz(operation: schemathesis.APIOperation) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        response = case.call(timeout=30)
        CASES.append(f"{case.method} {case.path} {response.status_code}")
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    run()


def test_no_operation_answers_5xx(gateway_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    for operation in operations:
        _fuzz(operation)
    statuses = sorted({int(c.rsplit(" ", 1)[1]) for c in CASES})
    print(f"\nschemathesis: {len(CASES)} cases over {len(operations)} operations, statuses {statuses}, none 5xx")
    assert len(CASES) >= 10 * len(operations) and all(s < 500 for s in statuses)
