"""Over HTTP: the same Idempotency-Key and body name the same run; another body with that key is 409."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration


async def test_reused_key_with_another_body_is_refused(system: InProcessSystem, settings: Settings) -> None:
    app = create_app(settings)
    key = {"Idempotency-Key": "nightly-demo-2026-05-01"}

    def calls() -> tuple[object, object, object]:
        with TestClient(app) as client:
            first = client.post("/api/portfolio/rebalance", json={"accountId": "demo", "dryRun": True}, headers=key)
            again = client.post("/api/portfolio/rebalance", json={"accountId": "demo", "dryRun": True}, headers=key)
            other = client.post("/api/portfolio/rebalance", json={"accountId": "demo", "dryRun": False}, headers=key)
            return first, again, other

    first, again, other = await asyncio.to_thread(calls)
    assert first.status_code == 202 and again.status_code == 202  # type: ignore[attr-defined]
    assert first.json()["runId"] == again.json()["runId"]  # type: ignore[attr-defined]
    assert other.status_code == 409  # type: ignore[attr-defined]
    assert "differs in dryRun" in other.json()["error"]  # type: ignore[attr-defined]
    record = await system.wait_for_run(first.json()["runId"])  # type: ignore[attr-defined]
    assert record.request.dry_run is True  # the first request is the run; nothing of the refused one
