"""The HTTP gateway (FastAPI). It starts runs by publishing ``rebalance.v1.requested``, reads run state
from the coordinator's KV bucket, and asks the services over NATS request-reply for everything else."""

from __future__ import annotations

import contextlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import nats.errors
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from contracts import (
    AccountSnapshot,
    RebalanceRequest,
    RebalanceRequested,
    RunApprovalDecided,
    RunCancelRequested,
    RunRecord,
    ScheduledRun,
    encode,
    subjects,
    to_builtins,
)
from contracts.queries import (
    AccountStatus,
    AccountStatusQuery,
    MarketAnalysisQuery,
    MarketAnalysisReply,
    RealizedQuery,
    RiskQuery,
    ScheduleQuery,
    ScheduleReply,
)
from services.gateway.idempotency import reuse_problem
from services.gateway.live_runs import read_run
from services.gateway.responses import (
    ERRORS,
    Accepted,
    Acknowledged,
    Health,
    MarketAnalysisAnswer,
    PortfolioStatusAnswer,
    RealizedAnswer,
    RiskAnswer,
    RunView,
    ScheduleAnswer,
    ScheduleDeleted,
    SchedulesAnswer,
    install_contract_schemas,
)
from services.gateway.routes_accounts import accounts_router
from services.gateway.routes_batch import batch_router
from services.gateway.routes_docs import install_docs
from services.gateway.routes_import import import_router
from services.gateway.routes_ledger import ledger_router
from services.gateway.routes_ops import install_operations
from services.gateway.routes_reconcile import reconcile_router
from services.gateway.routes_reports import reports_router
from services.gateway.routes_runs import runs_router
from services.gateway.schemas import ApprovalBody, MarketDate, RealizedRequest, RebalanceRequestBody, ScheduleBody
from services.gateway.security import GatewayGuard, Principal, load_key_ring, principal_of, visible_to
from services.gateway.stored import until_stored as _until_stored
from services.gateway.tracing import install_http_tracing
from services.gateway.views import camel_keys, request_view, schedule_view
from shared.bus import kv as kvops
from shared.bus.request import request as ask
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError, NotFoundError, RebalancerError, http_status
from shared.market_window import window_notice
from shared.settings import Settings

__all__ = ["create_app"]

RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="a run's id")]
AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="an account's id")]
ScheduleName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="a schedule's name")]
_RUN_NAMESPACE = uuid.UUID("6f1c3f0e-8f55-4d8e-9a7e-2d0b6c1f3a10")
_RECENT = 10_000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status)


def _run_view(record: RunRecord) -> dict[str, Any]:
    body = to_builtins(record)
    view = {
        "success": True,
        "runId": record.run_id,
        "status": record.status,
        "accountId": record.request.account_id,
        "dryRun": record.request.dry_run,
        "currentStep": record.current_step,
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
        "asOf": body["asOf"],
        "error": record.error,
        "failedStep": record.failed_step,
        "decision": record.decision,
        "awaitingApproval": record.status == "running" and record.step("approval").status == "running",
        "approval": record.approval,
        "steps": body["steps"],
        "request": request_view(record.request),
        "report": body["report"] if record.status == "completed" else None,
    }
    return view


_STORED_WAIT_SECONDS = 2.0


def _request_of(body: RebalanceRequestBody, settings: Settings, tenant: str) -> RebalanceRequest:
    """The bus form of an HTTP rebalance request, started by ``tenant``."""
    return body.to_request(body.accountId, settings.as_of_date, tenant)


def create_app(settings: Settings, runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime("gateway", settings)
    accepted: OrderedDict[str, dict[str, Any]] = OrderedDict()
    requested: OrderedDict[str, RebalanceRequest] = OrderedDict()  # by run, for Idempotency-Key reuse

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.connect_and_provision()
        await runtime.broker.start()
        yield
        try:
            await runtime.broker.stop()
        except nats.errors.Error:  # the bus is down or reconnecting: nothing to drain, just close
            with contextlib.suppress(nats.errors.Error, OSError):
                await runtime.broker.connection.close()

    app = FastAPI(
        title="Tax-aware portfolio rebalancer",
        version="1.0.0",
        description="Start rebalancing runs, follow them step by step, and read their reports.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    install_contract_schemas(app)  # the answers' contract parts (report, steps, status, …) in /openapi.json

    app.include_router(reports_router(runtime))
    app.include_router(reconcile_router(runtime))
    app.include_router(runs_router(runtime))
    app.include_router(ledger_router(runtime))
    app.include_router(import_router(runtime))  # before accounts: /api/accounts/import is not an account id
    app.include_router(accounts_router(runtime))

    # Keys, tenants, roles, the per-key rate limit and the body limit of every /api route (security.py).
    # The keys file is read now: a bad one stops the gateway at start, naming the entry.
    app.add_middleware(GatewayGuard, settings=settings, keys=load_key_ring(settings))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"] if p not in ("body", "query", "path"))
            problems.append(f"{where or 'body'}: {error['msg']}")
        return JSONResponse(
            {"success": False, "error": "; ".join(problems), "detail": jsonable_encoder(exc.errors())}, status_code=422
        )

    @app.exception_handler(RebalancerError)
    async def _rebalancer_error(_: Request, exc: RebalancerError) -> JSONResponse:
        return _error(http_status(exc), exc.message)  # the error tree's one mapping to HTTP

    @app.exception_handler(nats.errors.Error)
    async def _bus_down(_: Request, exc: nats.errors.Error) -> JSONResponse:
        return _error(503, f"the message bus is unavailable ({type(exc).__name__}); try again shortly")

    @app.exception_handler(TimeoutError)
    async def _bus_timeout(_: Request, exc: TimeoutError) -> JSONResponse:
        return _error(503, "the message bus did not answer in time; try again shortly")

    async def own_account(account_id: str, principal: Principal) -> AccountSnapshot:
        """The account, if it belongs to the caller's tenant; another tenant's account is unknown (404)."""
        account = await ask(
            runtime.broker,
            subjects.PORTFOLIO_QUERY_ACCOUNTS,
            AccountStatusQuery(account_id=account_id),
            AccountSnapshot,
        )
        if not visible_to(principal, account.tenant):
            raise NotFoundError(f"unknown account {account_id!r}")
        return account

    async def own_run(run_id: str, principal: Principal) -> RunRecord | None:
        """The run, if the caller's tenant started it (else ``None``, as for an unknown run)."""
        record = await read_run(await runtime.kv(subjects.KV_RUNS), run_id)
        if record is None or not visible_to(principal, record.request.tenant):
            return None
        return record

    @app.get("/health", response_model=Health, responses={503: {"model": Health, "description": "bus down"}})
    async def health() -> JSONResponse:
        connected = runtime.broker.connection.is_connected
        return JSONResponse(
            {
                "status": "ok" if connected else "degraded",
                "nats": "connected" if connected else "disconnected",
            },
            status_code=200 if connected else 503,
        )

    @app.post("/api/portfolio/rebalance", status_code=202, response_model=Accepted, responses=ERRORS)
    async def rebalance(
        body: RebalanceRequestBody,
        idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
        principal: Principal = Depends(principal_of),
    ) -> JSONResponse:
        """Start a run. The same ``Idempotency-Key`` always names the same run (of the same tenant)."""
        await own_account(body.accountId, principal)
        run_id = (
            str(uuid.uuid5(_RUN_NAMESPACE, f"{principal.tenant}:{idempotency_key}"))
            if idempotency_key
            else str(uuid.uuid4())
        )
        now = runtime.clock.now()
        request = _request_of(body, settings, principal.tenant)
        message = RebalanceRequested(run_id=run_id, message_id=run_id, occurred_at=now, request=request, source="http")
        runs = await runtime.kv(subjects.KV_RUNS)
        if idempotency_key:
            first, _ = await kvops.read(runs, f"run.{run_id}", RunRecord)
            problem = reuse_problem(idempotency_key, first.request if first else requested.get(run_id), request)
            if problem:
                return _error(409, problem)
            requested[run_id] = request
        watcher = await runs.watch(f"run.{run_id}")  # before publishing: the run's creation cannot be missed
        try:
            await runtime.publish(subjects.REBALANCE_REQUESTED, message, msg_id=run_id)
            await _until_stored(watcher, _STORED_WAIT_SECONDS)
        finally:
            await watcher.stop()
        response = {
            "success": True,
            "message": "Portfolio rebalancing workflow initiated",
            "runId": run_id,
            "accountId": body.accountId,
            "dryRun": body.dryRun,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
        }
        accepted[run_id] = {**response, "tenant": principal.tenant}
        while len(accepted) > _RECENT:
            accepted.popitem(last=False)
        while len(requested) > _RECENT:
            requested.popitem(last=False)
        return JSONResponse(response, status_code=202)

    @app.get("/api/runs/{run_id}", response_model=RunView, responses=ERRORS)
    async def run_status(run_id: RunId, principal: Principal = Depends(principal_of)) -> JSONResponse:
        record = await own_run(run_id, principal)
        if record is None:
            pending = accepted.get(run_id)
            if pending is not None and pending["tenant"] == principal.tenant:
                view = {k: v for k, v in pending.items() if k != "tenant"}
                return JSONResponse({**view, "status": "pending", "steps": [], "report": None})
            return _error(404, f"unknown run {run_id!r}")
        return JSONResponse(_run_view(record))

    @app.post("/api/runs/{run_id}/cancel", status_code=202, response_model=Acknowledged, responses=ERRORS)
    async def cancel(run_id: RunId, principal: Principal = Depends(principal_of)) -> JSONResponse:
        record = await own_run(run_id, principal)
        if record is None:
            return _error(404, f"unknown run {run_id!r}")
        if record.status in ("completed", "failed", "cancelled"):
            return _error(409, f"run {run_id} is already {record.status}: nothing to cancel")
        message = RunCancelRequested(
            run_id=run_id,
            message_id=f"{run_id}:cancel",
            occurred_at=runtime.clock.now(),
            reason="requested over HTTP",
        )
        await runtime.publish(subjects.RUN_CANCEL_REQUESTED, message, msg_id=message.message_id)
        return JSONResponse({"success": True, "runId": run_id, "message": "cancel requested"}, status_code=202)

    async def _decide(run_id: RunId, body: ApprovalBody, approved: bool, principal: Principal) -> JSONResponse:
        record = await own_run(run_id, principal)
        if record is None:
            return _error(404, f"unknown run {run_id!r}")
        if record.status != "running" or record.step("approval").status != "running":
            return _error(409, f"run {run_id} is not waiting for approval (status {record.status})")
        message = RunApprovalDecided(
            run_id=run_id, message_id=f"{run_id}:approval", occurred_at=runtime.clock.now(),
            approved=approved, by=body.by, reason=body.reason,
        )  # fmt: skip
        await runtime.publish(subjects.RUN_APPROVAL_DECIDED, message, msg_id=message.message_id)
        verb = "approval" if approved else "rejection"
        return JSONResponse({"success": True, "runId": run_id, "message": f"{verb} recorded"}, status_code=202)

    @app.post("/api/runs/{run_id}/approve", status_code=202, response_model=Acknowledged, responses=ERRORS)
    async def approve(run_id: RunId, body: ApprovalBody, principal: Principal = Depends(principal_of)) -> JSONResponse:
        """Approve a run waiting at its approval step: it goes on to execute its trades."""
        return await _decide(run_id, body, True, principal)

    @app.post("/api/runs/{run_id}/reject", status_code=202, response_model=Acknowledged, responses=ERRORS)
    async def reject(run_id: RunId, body: ApprovalBody, principal: Principal = Depends(principal_of)) -> JSONResponse:
        """Reject a run waiting at its approval step: it reports without trading."""
        return await _decide(run_id, body, False, principal)

    async def all_schedules() -> list[ScheduledRun]:
        reply = await ask(
            runtime.broker, subjects.COORDINATOR_QUERY_SCHEDULES, ScheduleQuery(action="list"), ScheduleReply
        )
        return reply.schedules

    @app.put("/api/schedules/{name}", response_model=ScheduleAnswer, responses=ERRORS)
    async def put_schedule(
        name: ScheduleName, body: ScheduleBody, principal: Principal = Depends(principal_of)
    ) -> JSONResponse:
        """Create or replace a cron schedule of runs (the server fires it; one run per tick)."""
        await own_account(body.request.accountId, principal)
        existing = {s.name: s for s in await all_schedules()}.get(name)
        if existing is not None and not visible_to(principal, existing.request.tenant):
            return _error(409, f"schedule name {name!r} is taken; choose another")
        query = ScheduleQuery(
            action="put", name=name, cron=body.cron, request=_request_of(body.request, settings, principal.tenant),
            created_by=body.createdBy,
        )  # fmt: skip
        reply = await ask(runtime.broker, subjects.COORDINATOR_QUERY_SCHEDULES, query, ScheduleReply)
        return JSONResponse({"success": True, "schedule": schedule_view(reply.schedules[0])})

    @app.get("/api/schedules", response_model=SchedulesAnswer, responses=ERRORS)
    async def get_schedules(principal: Principal = Depends(principal_of)) -> JSONResponse:
        found = [s for s in await all_schedules() if visible_to(principal, s.request.tenant)]
        return JSONResponse({"success": True, "schedules": [schedule_view(s) for s in found]})

    @app.delete("/api/schedules/{name}", response_model=ScheduleDeleted, responses=ERRORS)
    async def delete_schedule(name: ScheduleName, principal: Principal = Depends(principal_of)) -> JSONResponse:
        existing = {s.name: s for s in await all_schedules()}.get(name)
        if existing is None or not visible_to(principal, existing.request.tenant):
            return _error(404, f"unknown schedule {name!r}")
        query = ScheduleQuery(action="delete", name=name)
        if not (await ask(runtime.broker, subjects.COORDINATOR_QUERY_SCHEDULES, query, ScheduleReply)).schedules:
            return _error(404, f"unknown schedule {name!r}")
        return JSONResponse({"success": True, "deleted": name})

    async def account_status(account_id: str, as_of: date | None, principal: Principal) -> AccountStatus:
        query = AccountStatusQuery(account_id=account_id, as_of=as_of or settings.as_of_date)
        status = await ask(runtime.broker, subjects.PORTFOLIO_QUERY_STATUS, query, AccountStatus)
        if not visible_to(principal, status.tenant):
            raise NotFoundError(f"unknown account {account_id!r}")
        return status

    @app.get("/api/portfolio/{account_id}/status", response_model=PortfolioStatusAnswer, responses=ERRORS)
    async def portfolio_status(
        account_id: AccountId, asOf: MarketDate | None = Query(None), principal: Principal = Depends(principal_of)
    ) -> JSONResponse:
        status = await account_status(account_id, asOf, principal)
        return JSONResponse({"success": True, "portfolio": to_builtins(status)})

    @app.get("/api/portfolio/{account_id}/risk", response_model=RiskAnswer, responses=ERRORS)
    async def portfolio_risk(
        account_id: AccountId, asOf: MarketDate | None = Query(None), principal: Principal = Depends(principal_of)
    ) -> JSONResponse:
        status = await account_status(account_id, asOf, principal)
        invested = sum(status.holdings.values())
        if invested <= 0:
            raise InvalidInputError(f"account {account_id!r} holds no securities")
        weights = {symbol: value / invested for symbol, value in status.holdings.items()}
        risk = await ask(
            runtime.broker, subjects.ANALYSIS_QUERY_RISK, RiskQuery(weights=weights, as_of=status.as_of), dict
        )
        window_end = date.fromisoformat(risk["metrics"]["end"]) if risk.get("metrics") else None
        return JSONResponse(
            {
                "success": True,
                "accountId": account_id,
                "asOf": status.as_of.isoformat(),
                "weights": {k: str(v.quantize(_SIX)) for k, v in weights.items()},
                "risk": camel_keys(risk),
                "notice": window_notice(status.as_of, window_end),
            }
        )

    @app.get("/api/market/analysis", response_model=MarketAnalysisAnswer, responses=ERRORS)
    async def market_analysis(asOf: MarketDate | None = Query(None)) -> JSONResponse:
        reply = await ask(
            runtime.broker,
            subjects.ANALYSIS_QUERY_MARKET,
            MarketAnalysisQuery(as_of=asOf or settings.as_of_date),
            MarketAnalysisReply,
        )
        return JSONResponse(
            {
                "success": True,
                "analysis": to_builtins(reply.conditions),
                "notice": window_notice(asOf or settings.as_of_date, reply.conditions.as_of),
                "timestamp": runtime.clock.now().isoformat().replace("+00:00", "Z"),
            }
        )

    @app.post("/api/tax/realized", response_model=RealizedAnswer, responses=ERRORS)
    async def tax_realized(body: RealizedRequest) -> JSONResponse:
        rows = [{k: str(v) for k, v in row.items()} for row in body.transactions]
        query = RealizedQuery(transactions=rows, method=body.method, filing_status=body.filingStatus)
        size, most = len(encode(query)), runtime.broker.connection.max_payload
        if size > most:
            return _error(413, f"{len(rows)} transactions encode to {size} bytes, over the bus's {most}-byte limit")
        result = await ask(runtime.broker, subjects.TAX_QUERY_REALIZED, query, dict, timeout=60.0)
        return JSONResponse(camel_keys(result))  # the CLI's --json shape, in the API's one casing

    app.include_router(batch_router(runtime, settings))
    install_http_tracing(app, runtime.tracer_provider)  # a span per request, only when tracing is on
    install_operations(app)  # last: the outermost middleware, so every answer is logged and counted
    return app


_SIX = Decimal("0.000001")
