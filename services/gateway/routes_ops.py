"""Operations on the gateway: ``GET /metrics`` (Prometheus text format: this process's HTTP metrics, its
broker's FastStream metrics and the domain metrics of :mod:`shared.metrics`), and one access log line
per request with a request id (the ``X-Request-Id`` the client sent, else a new one; echoed back)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from shared.log import get_logger
from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS

__all__ = ["install_operations"]

log = get_logger("gateway.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _route_of(request: Request) -> str:
    """The matched route's template (``/api/runs/{run_id}``), so metrics do not grow with every id."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def install_operations(app: FastAPI) -> None:
    @app.middleware("http")
    async def _access_log(request: Request, call_next: Any) -> Any:
        given = request.headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-Id"] = request_id
            return response
        finally:
            seconds = time.perf_counter() - started
            route = _route_of(request)
            HTTP_REQUESTS.labels(method=request.method, route=route, status=str(status)).inc()
            HTTP_SECONDS.labels(method=request.method, route=route).observe(seconds)
            log.info(
                "http request",
                request_id=request_id,
                method=request.method,
                path=request.url.path,
                status=status,
                duration_ms=round(seconds * 1000, 1),
                client=request.client.host if request.client else None,
                **({"trace_id": request.state.trace_id} if hasattr(request.state, "trace_id") else {}),
            )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
