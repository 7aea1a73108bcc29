"""Run reports as people use them: ``GET /api/runs/{runId}/report.html`` (one self-contained page with
charts, tax summary and trade table) and ``GET /api/runs/{runId}/trades.csv`` (the trade blotter)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, JSONResponse, Response

from contracts import Report, subjects
from services.gateway.live_runs import read_run
from services.gateway.security import Principal, principal_of, visible_to
from shared.bus.runtime import ServiceRuntime
from shared.reports import blotter_csv, render_report_html

__all__ = ["reports_router"]

RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="a run's id")]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status)


def reports_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["reports"])

    async def report_of(run_id: str, principal: Principal) -> Report | JSONResponse:
        """The run's report, or the error to answer: 404 unknown run (or another tenant's), 409 not completed yet."""
        record = await read_run(await runtime.kv(subjects.KV_RUNS), run_id)
        if record is None or not visible_to(principal, record.request.tenant):
            return _error(404, f"unknown run {run_id!r}")
        if record.status != "completed" or record.report is None:
            return _error(409, f"run {run_id} is {record.status}: its report exists once it has completed")
        return record.report

    @router.get(
        "/api/runs/{run_id}/report.html",
        response_class=HTMLResponse,
        responses={404: {"description": "unknown run"}, 409: {"description": "the run has not completed"}},
    )
    async def report_html(run_id: RunId, principal: Principal = Depends(principal_of)) -> Response:
        """The report as one HTML page (inline SVG charts and styles; no external asset)."""
        report = await report_of(run_id, principal)
        if isinstance(report, JSONResponse):
            return report
        return HTMLResponse(render_report_html(report))

    @router.get(
        "/api/runs/{run_id}/trades.csv",
        response_class=Response,
        responses={
            200: {"content": {"text/csv": {}}, "description": "the blotter"},
            404: {"description": "unknown run"},
            409: {"description": "the run has not completed"},
        },
    )
    async def trades_csv(run_id: RunId, principal: Principal = Depends(principal_of)) -> Response:
        """The trade blotter: account, symbol, side, shares, estimated price and value, asset class, lots
        (``lot:shares;…``), reason; sells first."""
        report = await report_of(run_id, principal)
        if isinstance(report, JSONResponse):
            return report
        return Response(
            blotter_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="trades-{run_id}.csv"'},
        )

    return router
