"""``GET /api/runs``: find runs by account, status and creation time, newest first, with cursor paging.

The records are read from KV ``runs`` (every live ``run.*`` key, as the stream counts them);
filtering and paging are :mod:`services.gateway.run_listing`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from nats.js.kv import KeyValue
from pydantic import BaseModel, Field

from contracts import RunRecord, decode_as, subjects
from contracts.codec import ContractError
from services.gateway.responses import ERRORS
from services.gateway.run_listing import RunFilter, page_of_runs, run_summary
from services.gateway.security import Principal, principal_of, visible_to
from shared.bus import kv as kvops
from shared.bus.runtime import ServiceRuntime

__all__ = ["RunPage", "RunSummary", "runs_router"]


class RunSummary(BaseModel):
    runId: str
    accountId: str
    status: Literal["pending", "running", "completed", "failed", "cancelled"]
    currentStep: str | None
    createdAt: str
    updatedAt: str
    asOf: str | None
    dryRun: bool
    mode: str
    source: str
    decision: str
    trades: int | None = Field(None, description="planned trades, once the report exists")
    error: str | None


class RunPage(BaseModel):
    success: bool
    runs: list[RunSummary]
    nextCursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last")


async def all_runs(bucket: KeyValue) -> list[RunRecord]:
    """Every stored run record (the latest revision of each ``run.*`` key)."""
    records: list[RunRecord] = []
    for value in (await kvops.live_entries(bucket, "run.*")).values():
        try:
            records.append(decode_as(value, RunRecord))
        except ContractError:
            continue  # not a run record (written by a newer or older coordinator): not listed
    return records


def _since(value: datetime | date | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def runs_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["runs"])

    @router.get("/api/runs", response_model=RunPage, responses=ERRORS)
    async def list_runs(
        accountId: Annotated[str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9_-]+$")] = None,
        status: Annotated[Literal["pending", "running", "completed", "failed", "cancelled"] | None, Query()] = None,
        since: Annotated[
            datetime | date | None, Query(description="runs created at or after (ISO date or instant, UTC)")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
        principal: Principal = Depends(principal_of),
    ) -> JSONResponse:
        """Runs, newest first. Filter by ``accountId``, ``status`` and ``since``; page with ``limit`` and the
        ``nextCursor`` of the previous page."""
        records = [
            r for r in await all_runs(await runtime.kv(subjects.KV_RUNS)) if visible_to(principal, r.request.tenant)
        ]  # only the caller's tenant's runs
        where = RunFilter(account_id=accountId, status=status, since=_since(since))
        try:
            page, next_cursor = page_of_runs(records, where, limit=limit, cursor=cursor)
        except ValueError as exc:
            return JSONResponse({"success": False, "error": str(exc)}, status_code=422)
        return JSONResponse({"success": True, "runs": [run_summary(r) for r in page], "nextCursor": next_cursor})

    return router
