"""A server span for every HTTP request when tracing is on (see :mod:`shared.telemetry`).

The span continues the caller's trace when the request carries a W3C ``traceparent`` header, and is
current while the route runs, so the messages the route publishes or asks (``rebalance.v1.requested``,
queries) carry it to the services: a run's trace starts at the HTTP request that started it. The
response names the trace in a ``traceparent`` header. With tracing off nothing is installed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

__all__ = ["install_http_tracing"]


def install_http_tracing(app: FastAPI, provider: Any | None) -> None:
    """Open a server span per request on ``provider``; nothing when ``provider`` is ``None``."""
    if provider is None:
        return
    from opentelemetry import context, trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    tracer = provider.get_tracer("services.gateway")
    propagator = TraceContextTextMapPropagator()

    @app.middleware("http")
    async def _trace(request: Request, call_next: Any) -> Any:
        parent = propagator.extract(dict(request.headers))
        token = context.attach(parent)
        try:
            with tracer.start_as_current_span(
                f"{request.method} {request.url.path}",
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": request.method, "url.path": request.url.path},
            ) as span:
                response = await call_next(request)
                route = getattr(request.scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{request.method} {route}")
                    span.set_attribute("http.route", str(route))
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 500:
                    span.set_status(trace.Status(trace.StatusCode.ERROR))
                carrier: dict[str, str] = {}
                propagator.inject(carrier)
                if "traceparent" in carrier:
                    response.headers["traceparent"] = carrier["traceparent"]
                    request.state.trace_id = carrier["traceparent"].split("-")[1]  # for the access log line
                return response
        finally:
            context.detach(token)
