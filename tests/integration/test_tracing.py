"""One run, one trace: the HTTP request that starts a run, the coordinator and every step's service
record their spans (FastStream's telemetry middleware on each broker) under the request's trace id.
With tracing off (the default) no telemetry middleware is installed at all."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from services.gateway.app import create_app
from shared.bus.runtime import ServiceRuntime
from shared.settings import Settings
from shared.telemetry import exporting_to
from shared.testing.system import running_system

pytestmark = pytest.mark.integration

STEP_SERVICES = ("portfolio", "market_data", "analysis", "tax", "rebalancing", "execution", "notifications")


def _service(span: Any) -> str:
    return str(span.resource.attributes.get("service.name"))


async def _spans_until(exporter: InMemorySpanExporter, done: Any, timeout: float = 10.0) -> list[Any]:
    """The finished spans once ``done(spans)`` holds (a span ends just after its handler returns)."""
    deadline = time.monotonic() + timeout
    while True:
        spans = list(exporter.get_finished_spans())
        if done(spans) or time.monotonic() > deadline:
            return spans
        await asyncio.sleep(0.05)


async def test_one_runs_spans_share_the_http_requests_trace(settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    with exporting_to(exporter), capture_logs(processors=[merge_contextvars]) as logs:
        async with running_system(settings) as system:
            assert all(
                any(isinstance(m, NatsTelemetryMiddleware) for m in runtime.broker.middlewares)
                for runtime in system.runtimes.values()
            )

            def start_run() -> tuple[str, str]:
                with TestClient(create_app(settings)) as client:
                    answer = client.post("/api/portfolio/rebalance", json={"accountId": "demo", "dryRun": True})
                    assert answer.status_code == 202, answer.text
                    return answer.json()["runId"], answer.headers["traceparent"]

            run_id, traceparent = await asyncio.to_thread(start_run)
            record = await system.wait_for_run(run_id)
            assert record.status == "completed"

            def marked(spans: list[Any]) -> set[str]:
                return {_service(s) for s in spans if s.attributes.get("rebalancer.run_id") == run_id}

            spans = await _spans_until(exporter, lambda found: {*STEP_SERVICES, "coordinator"} <= marked(found))

    http = [s for s in spans if s.name == "POST /api/portfolio/rebalance"]
    assert len(http) == 1
    trace_id = http[0].context.trace_id
    assert _service(http[0]) == "gateway"
    assert traceparent.split("-")[1] == f"{trace_id:032x}"  # the answer names the run's trace
    of_run = [s for s in spans if s.attributes.get("rebalancer.run_id") == run_id]
    assert {*STEP_SERVICES, "coordinator"} <= {_service(s) for s in of_run}
    assert {s.context.trace_id for s in of_run} == {trace_id}, "every span of the run in the request's trace"
    by_service: dict[str, set[str]] = defaultdict(set)
    for span in spans:
        if span.context.trace_id == trace_id:
            by_service[_service(span)].add(span.name)
    assert "rebalance.v1.requested publish" in by_service["gateway"]
    assert "rebalance.v1.requested process" in by_service["coordinator"]
    assert any(name.startswith("portfolio.v1.cmd.") and name.endswith(" process") for name in by_service["portfolio"])
    # the access log line and every step's log lines name the trace
    hex_id = f"{trace_id:032x}"
    assert any(e["event"] == "http request" and e.get("trace_id") == hex_id for e in logs)
    stepped = {e.get("step") for e in logs if e["event"] == "step handled" and e.get("run_id") == run_id}
    assert stepped and all(
        e.get("trace_id") == hex_id for e in logs if e["event"] == "step handled" and e.get("run_id") == run_id
    )
    # and the span tree is connected: every span's parent is a span of the same trace
    ids = {s.context.span_id for s in spans if s.context.trace_id == trace_id}
    orphans = [s.name for s in spans if s.context.trace_id == trace_id and s.parent and s.parent.span_id not in ids]
    assert orphans == []


def test_tracing_off_installs_no_middleware() -> None:
    runtime = ServiceRuntime("portfolio", Settings())
    assert runtime.tracer_provider is None
    assert not any(isinstance(m, NatsTelemetryMiddleware) for m in runtime.broker.middlewares)


def test_exporter_from_settings() -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    from shared.telemetry import _exporter_of

    assert isinstance(_exporter_of(Settings(otel_traces_exporter="console")), ConsoleSpanExporter)
    otlp = _exporter_of(Settings(otel_traces_exporter="otlp", otel_exporter_otlp_endpoint="http://collector:4318/"))
    assert isinstance(otlp, OTLPSpanExporter)
    assert otlp._endpoint == "http://collector:4318/v1/traces"
    runtime = ServiceRuntime("tax", Settings(otel_traces_exporter="console"))
    assert runtime.tracer_provider is not None
    assert runtime.tracer_provider.resource.attributes["service.name"] == "tax"
    assert any(isinstance(m, NatsTelemetryMiddleware) for m in runtime.broker.middlewares)
