"""Batch runs over HTTP: ``POST /api/rebalance/batch`` starts one run per account, paced by the
coordinator; ``GET /api/batches/{batchId}`` counts them and lists each account's run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from contracts import (
    BatchAccounts,
    BatchRecord,
    BatchRequested,
    batch_accounts_key,
    batch_key,
    subjects,
)
from contracts.queries import BookQuery, BookReply
from services.gateway.idempotency import reuse_problem
from services.gateway.live_runs import read_run
from services.gateway.responses import ERRORS, BatchAccepted, BatchView
from services.gateway.schemas import RunOptionsBody
from services.gateway.security import Principal, principal_of, visible_to
from services.gateway.stored import until_stored
from shared.bus import kv as kvops
from shared.bus.request import request as ask
from shared.bus.runtime import ServiceRuntime
from shared.errors import NotFoundError
from shared.settings import Settings

__all__ = ["MAX_BATCH", "BatchRequestBody", "batch_router", "batch_view"]

BatchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="a batch's id")]
_BATCH_NAMESPACE = uuid.UUID("3d7e2b9a-51c4-4f0e-8d6b-9a2c7e1f4b58")
_STORED_WAIT_SECONDS = 2.0
_ERRORS_SHOWN = 100
MAX_BATCH = 20_000
"""Accounts in one batch: its request and its account list each travel as one NATS message (1 MB at most)."""
_STATUS = {"p": "pending", "r": "running", "w": "running", "c": "completed", "f": "failed", "x": "cancelled"}
_ACCOUNT_ID = r"^[A-Za-z0-9_\-]{1,128}$"


class BatchRequestBody(RunOptionsBody):
    """Which accounts (exactly one of ``accountIds``, ``householdId``, ``all``) and the options of every run."""

    accountIds: list[Annotated[str, Field(pattern=_ACCOUNT_ID)]] | None = Field(
        None, min_length=1, max_length=MAX_BATCH, description="the accounts to rebalance"
    )
    householdId: str | None = Field(None, pattern=_ACCOUNT_ID, description="every account of this household")
    all: bool = Field(False, description="every account of the book")
    maxInFlight: int | None = Field(
        None, ge=1, le=10_000, description="runs of this batch under way at once (default BATCH_MAX_IN_FLIGHT)"
    )

    @model_validator(mode="after")
    def _one_selection(self) -> BatchRequestBody:
        chosen = [self.accountIds is not None, self.householdId is not None, self.all]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of accountIds, householdId or all: true")
        return self


def _instant(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def batch_view(
    record: BatchRecord, accounts: BatchAccounts, now: datetime, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    """The HTTP view of a batch: counts, timing, throughput and each account's run."""
    finished = record.count("c") + record.count("f") + record.count("x")
    elapsed = ((record.finished_at or now) - record.created_at).total_seconds()
    runs = []
    for account_id, run_id, state in record.runs_of(accounts):
        run: dict[str, Any] = {"accountId": account_id, "runId": run_id, "status": _STATUS[state]}
        if errors and run_id in errors:
            run["error"] = errors[run_id]
        runs.append(run)
    return {
        "success": True,
        "batchId": record.batch_id,
        "status": record.status,
        "total": record.total,
        "completed": record.count("c"),
        "failed": record.count("f"),
        "cancelled": record.count("x"),
        "running": record.count("r") + record.count("w"),
        "waitingForBlock": record.count("w"),
        "pending": record.count("p"),
        "maxInFlight": record.max_in_flight,
        "dryRun": record.request.dry_run,
        "startedAt": _instant(record.created_at),
        "finishedAt": _instant(record.finished_at),
        "accountsPerSecond": round(finished / elapsed, 2) if elapsed > 0 else None,
        "runs": runs,
    }


def batch_router(runtime: ServiceRuntime, settings: Settings) -> APIRouter:
    router = APIRouter(tags=["batches"])

    @router.post("/api/rebalance/batch", status_code=202, response_model=BatchAccepted, responses=ERRORS)
    async def start_batch(
        body: BatchRequestBody,
        idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
        principal: Principal = Depends(principal_of),
    ) -> JSONResponse:
        """Rebalance many accounts, each in its own run. The same ``Idempotency-Key`` always names the
        same batch (and so the same run of each account)."""
        query = BookQuery(
            account_ids=body.accountIds or [], household_id=body.householdId, all=body.all, tenant=principal.tenant
        )  # only the caller's tenant's accounts: another tenant's are unknown
        try:
            book = await ask(runtime.broker, subjects.PORTFOLIO_QUERY_BOOK, query, BookReply)
        except NotFoundError as exc:  # an unknown household
            return JSONResponse({"success": False, "error": f"householdId: {exc.message}"}, status_code=422)
        if book.unknown:
            names = ", ".join(book.unknown[:_ERRORS_SHOWN])
            more = f" and {len(book.unknown) - _ERRORS_SHOWN} more" if len(book.unknown) > _ERRORS_SHOWN else ""
            error = f"accountIds: unknown accounts {names}{more}"
            return JSONResponse({"success": False, "error": error, "unknownAccountIds": book.unknown}, status_code=422)
        if not book.account_ids:
            return JSONResponse({"success": False, "error": "the book holds no account to rebalance"}, status_code=422)
        if len(book.account_ids) > MAX_BATCH:
            error = f"{len(book.account_ids)} accounts: a batch holds at most {MAX_BATCH}; split the book"
            return JSONResponse({"success": False, "error": error}, status_code=422)
        batch_id = (
            str(uuid.uuid5(_BATCH_NAMESPACE, f"{principal.tenant}:{idempotency_key}"))
            if idempotency_key
            else str(uuid.uuid4())
        )
        now = runtime.clock.now()
        message = BatchRequested(
            run_id=batch_id,
            message_id=batch_id,
            occurred_at=now,
            account_ids=book.account_ids,
            request=body.to_request(book.account_ids[0], settings.as_of_date, principal.tenant),
            max_in_flight=body.maxInFlight or 0,
            source="http",
        )
        batches = await runtime.kv(subjects.KV_BATCHES)
        if idempotency_key:
            problem = await _reuse_problem(batches, idempotency_key, batch_id, message)
            if problem:
                return JSONResponse({"success": False, "error": problem}, status_code=409)
        watcher = await batches.watch(batch_key(batch_id))  # before publishing: its creation cannot be missed
        try:
            await runtime.publish(subjects.REBALANCE_BATCH_REQUESTED, message, msg_id=batch_id)
            await until_stored(watcher, _STORED_WAIT_SECONDS)
        finally:
            await watcher.stop()
        total = len(dict.fromkeys(book.account_ids))
        return JSONResponse(
            {"success": True, "batchId": batch_id, "total": total, "timestamp": _instant(now)}, status_code=202
        )

    @router.get("/api/batches/{batch_id}", response_model=BatchView, responses=ERRORS)
    async def batch_status(batch_id: BatchId, principal: Principal = Depends(principal_of)) -> JSONResponse:
        """The batch's counts (completed, failed, cancelled, running, pending), its throughput, and each
        account's run (``/api/runs/{runId}`` has its steps and report); a failed run shows its error."""
        batches = await runtime.kv(subjects.KV_BATCHES)
        record, _ = await kvops.read(batches, batch_key(batch_id), BatchRecord)
        accounts, _ = await kvops.read(batches, batch_accounts_key(batch_id), BatchAccounts)
        if record is None or accounts is None or not visible_to(principal, record.request.tenant):
            return JSONResponse({"success": False, "error": f"unknown batch {batch_id!r}"}, status_code=404)
        errors = await _failures(runtime, record, accounts)
        return JSONResponse(batch_view(record, accounts, runtime.clock.now(), errors))

    return router


async def _reuse_problem(batches: Any, key: str, batch_id: str, message: BatchRequested) -> str | None:
    """Why this request may not reuse ``key``: the batch it names was started with other accounts or options."""
    first, _ = await kvops.read(batches, batch_key(batch_id), BatchRecord)
    if first is None:
        return None
    accounts, _ = await kvops.read(batches, batch_accounts_key(batch_id), BatchAccounts)
    if accounts is not None and accounts.account_ids != list(dict.fromkeys(message.account_ids)):
        return f"Idempotency-Key {key!r} was already used for a batch of other accounts (accountIds differ)"
    return reuse_problem(key, first.request, message.request)


async def _failures(runtime: ServiceRuntime, record: BatchRecord, accounts: BatchAccounts) -> dict[str, str]:
    """The error of each failed run (the first hundred), read from the runs themselves."""
    failed = [run_id for _, run_id, state in record.runs_of(accounts) if state == "f"][:_ERRORS_SHOWN]
    runs = await runtime.kv(subjects.KV_RUNS)
    errors = {}
    for run_id in failed:
        run = await read_run(runs, run_id)
        if run is not None and run.error:
            errors[run_id] = run.error
    return errors
