"""A real run moves the metrics of every service: FastStream's per-handler counters, the commands each
service handled, the solver's time, the finished run; the gateway serves them at /metrics."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing.system import SERVICE_NAMES, InProcessSystem

pytestmark = pytest.mark.integration


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _ok_commands(service: str) -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "rebalancer_commands"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["service"] == service and sample.labels["outcome"] == "ok"
    )


async def test_a_run_moves_every_services_metrics(system: InProcessSystem, settings: Settings) -> None:
    handled = {name: _ok_commands(name) for name in SERVICE_NAMES}
    runs = _value("rebalancer_runs_total", status="completed")
    solves = _value("rebalancer_solver_seconds_count")
    published = {n: _value("rebalancer_published_messages_total", service=n) for n in ("coordinator", "tax")}
    run_id = await system.request_run("demo", dry_run=True)
    record = await system.wait_for_run(run_id)
    assert record.status == "completed"
    assert _value("rebalancer_runs_total", status="completed") == runs + 1
    assert _value("rebalancer_solver_seconds_count") == solves + 1
    for name in ("portfolio", "market_data", "analysis", "tax", "rebalancing", "execution", "notifications"):
        assert _ok_commands(name) > handled[name], name
    # every acknowledged publish is counted (the coordinator: each step's command and the run's events)
    assert _value("rebalancer_published_messages_total", service="coordinator") >= published["coordinator"] + 9
    assert _value("rebalancer_published_messages_total", service="tax") >= published["tax"] + 2

    def scrape() -> str:
        with TestClient(create_app(settings)) as client:
            return client.get("/metrics").text

    text = await asyncio.to_thread(scrape)
    assert 'rebalancer_runs_total{status="completed"}' in text
    assert "faststream_received_messages_total" in text  # FastStream's middleware on every broker
    assert "rebalancer_step_seconds_bucket" in text
