"""OpenTelemetry traces that follow one run across every service.

FastStream's own ``NatsTelemetryMiddleware`` on each service's broker opens a span for every message it
receives and every message it publishes (requests and replies included), and carries the W3C trace
context (``traceparent``) in the message headers. The gateway opens the run's first span for the HTTP
request (:mod:`services.gateway.tracing`) and publishes ``rebalance.v1.requested`` inside it; the
coordinator handles that request and each step's result inside spans whose parent is the message that
brought it, and publishes the next command inside them, so every span of one run, in every process,
shares the request's trace id. A step's span carries the run's id as ``rebalancer.run_id``, and the
step's log lines (and the gateway's access log line) the trace id as ``trace_id``.

Settings choose the exporter: ``OTEL_TRACES_EXPORTER`` is ``none`` (the default: no tracer, no
middleware, nothing on the hot path), ``console`` (spans as JSON on stdout) or ``otlp`` (OTLP over
HTTP/protobuf to ``OTEL_EXPORTER_OTLP_ENDPOINT``); ``OTEL_TRACES_SAMPLE_RATIO`` samples new traces
(a run keeps its first span's decision everywhere). Each service's spans name it as ``service.name``.

Tests route every service's spans of one process to an exporter of their own with
:func:`exporting_to` (e.g. opentelemetry-sdk's ``InMemorySpanExporter``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.settings import Settings

__all__ = ["exporting_to", "mark_run", "telemetry_middleware", "tracer_provider"]

_providers: dict[tuple[str, int], Any] = {}
_override: list[Any] = []  # the exporter tests capture spans with (at most one at a time)


@contextmanager
def exporting_to(exporter: Any) -> Iterator[None]:
    """Within the block, every runtime built in this process traces, and exports to ``exporter``
    (synchronously, so a test sees each span as soon as it ends), whatever the settings say."""
    _override.append(exporter)
    try:
        yield
    finally:
        _override.remove(exporter)


def tracer_provider(settings: Settings, service: str) -> Any | None:
    """The tracer provider of ``service`` in this process (one per service, its spans named
    ``service.name``), or ``None`` when tracing is off."""
    if _override:
        return _provider(service, _override[-1], synchronous=True, ratio=1.0)
    if settings.otel_traces_exporter == "none":
        return None
    return _provider(service, _exporter_of(settings), synchronous=False, ratio=settings.otel_traces_sample_ratio)


def telemetry_middleware(provider: Any) -> Any:
    """FastStream's NATS telemetry middleware tracing into ``provider``."""
    from faststream.nats.opentelemetry import NatsTelemetryMiddleware
    from opentelemetry.metrics import NoOpMeterProvider

    return NatsTelemetryMiddleware(tracer_provider=provider, meter_provider=NoOpMeterProvider())


def mark_run(run_id: str, step: str | None = None) -> str:
    """Name the run (and step) on the span of the message being handled; its trace id (hex), which the
    step's log lines carry as ``trace_id`` ("" outside a span)."""
    from opentelemetry import trace

    span = trace.get_current_span()
    if not span.is_recording():
        return ""
    span.set_attribute("rebalancer.run_id", run_id)
    if step:
        span.set_attribute("rebalancer.step", step)
    return f"{span.get_span_context().trace_id:032x}"


def _exporter_of(settings: Settings) -> Any:
    if settings.otel_traces_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = (settings.otel_exporter_otlp_endpoint or "http://127.0.0.1:4318").rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)


def _provider(service: str, exporter: Any, *, synchronous: bool, ratio: float) -> Any:
    key = (service, id(exporter))
    if key not in _providers:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

        provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.namespace": "rebalancer"}),
            sampler=ParentBasedTraceIdRatio(ratio),
        )
        processor = SimpleSpanProcessor(exporter) if synchronous else BatchSpanProcessor(exporter)
        provider.add_span_processor(processor)
        _providers[key] = provider
    return _providers[key]
