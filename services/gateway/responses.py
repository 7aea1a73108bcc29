"""HTTP answer models (pydantic, camelCase as the answers are), so ``/openapi.json`` describes every answer.

The routes answer with ``JSONResponse`` built from the contracts' builtins; these models document those
bodies (``response_model=``) and ``tests/fuzz`` checks each answer against them. Parts that are a
contract struct as the bus carries it (a run's steps and report, an account's status, market conditions,
ledger lots, reconciliation reports) are described by the JSON schema msgspec generates for that struct
(:func:`install_contract_schemas` adds them to the document's components), so the two never drift.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import FastAPI
from pydantic import BaseModel, Field, WithJsonSchema

from contracts import RebalanceRequest, Report, StepRecord
from contracts.queries import AccountLots, AccountStatus
from contracts.reconcile import ReconcileReport
from contracts.values import MarketConditions
from services.gateway.views import camel

__all__ = [
    "ERRORS",
    "Accepted",
    "Acknowledged",
    "BatchAccepted",
    "BatchView",
    "ErrorAnswer",
    "Health",
    "MarketAnalysisAnswer",
    "PortfolioStatusAnswer",
    "RealizedAnswer",
    "RiskAnswer",
    "RunView",
    "ScheduleAnswer",
    "ScheduleDeleted",
    "SchedulesAnswer",
    "install_contract_schemas",
]

_REF = "#/components/schemas/{name}"
_CONTRACTS: tuple[Any, ...] = (Report, StepRecord, AccountStatus, MarketConditions, AccountLots)
_CAMEL_VIEWS: tuple[Any, ...] = (RebalanceRequest, ReconcileReport)
"""Contract structs the API echoes with their keys camelCased (their bus form is snake_case)."""


def _ref(struct: type) -> Any:
    """A field typed as the contract struct ``struct`` (its msgspec schema in the components)."""
    return WithJsonSchema(
        {"allOf": [{"$ref": _REF.format(name=struct.__name__)}]}
    )  # allOf: pydantic resolves no bare $ref


def _camel_view_name(name: str) -> str:
    return f"{name}View"


def _camelized(schema: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """``schema`` with property names camelCased and references renamed to the ``…View`` components."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {camel(k): _camelized(v, names) for k, v in value.items()}
        elif key == "required":
            out[key] = [camel(k) for k in value]
        elif key == "$ref" and isinstance(value, str):
            name = value.rsplit("/", 1)[-1]
            out[key] = _REF.format(name=_camel_view_name(name)) if name in names else value
        elif isinstance(value, dict):
            out[key] = _camelized(value, names)
        elif isinstance(value, list):
            out[key] = [_camelized(v, names) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def contract_components() -> dict[str, Any]:
    """The JSON schemas of the contract structs the answers carry, by component name."""
    _, components = msgspec.json.schema_components(_CONTRACTS, ref_template=_REF)
    _, views = msgspec.json.schema_components(_CAMEL_VIEWS, ref_template=_REF)
    names = set(views)
    for name, schema in views.items():
        components[_camel_view_name(name)] = _camelized(schema, names)
    return components


def install_contract_schemas(app: FastAPI) -> None:
    """Add the contract structs' schemas to ``app``'s OpenAPI components (once, when first asked)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in contract_components().items():
                if name in schemas and schemas[name] != schema:
                    raise RuntimeError(f"OpenAPI component {name!r} is defined twice")
                schemas[name] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# ---- answers ---------------------------------------------------------------------------------------
class ErrorAnswer(BaseModel):
    """Every 4xx and 503 answer: ``error`` names the problem (the field, for a bad body)."""

    success: Literal[False]
    error: str
    detail: list[Any] | None = Field(None, description="the validation errors of a 422 answer")
    unknownAccountIds: list[str] | None = Field(None, description="a batch's accounts that do not exist")


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorAnswer, "description": text}
    for status, text in (
        (400, "bad input"),
        (404, "not found"),
        (409, "conflict"),
        (422, "a field is invalid (named in error)"),
        (503, "the message bus or a service is not available"),
    )
}
"""The error answers every operation may give (401/403/413/429 from the guard have the same shape)."""


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    nats: Literal["connected", "disconnected"]


class Accepted(BaseModel):
    success: Literal[True]
    message: str
    runId: str
    accountId: str
    dryRun: bool
    timestamp: str = Field(description="when the gateway accepted it (UTC, ISO 8601)")


class RunView(BaseModel):
    """A run: its status and every step, the report once completed. A run the coordinator has not stored
    yet answers ``status: pending`` with the acceptance's fields and no steps."""

    success: Literal[True]
    runId: str
    status: Literal["pending", "running", "completed", "failed", "cancelled"]
    accountId: str
    dryRun: bool
    steps: Annotated[list[Any], WithJsonSchema({"type": "array", "items": {"$ref": _REF.format(name="StepRecord")}})]
    report: Annotated[Any, WithJsonSchema({"anyOf": [{"$ref": _REF.format(name="Report")}, {"type": "null"}]})]
    currentStep: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    asOf: str | None = None
    error: str | None = None
    failedStep: str | None = None
    decision: str | None = None
    awaitingApproval: bool | None = None
    approval: str | None = None
    request: Annotated[Any, WithJsonSchema({"allOf": [{"$ref": _REF.format(name="RebalanceRequestView")}]})] = None
    message: str | None = None
    timestamp: str | None = None


class Acknowledged(BaseModel):
    """A cancel, an approval or a rejection was sent to the coordinator."""

    success: Literal[True]
    runId: str
    message: str


class ScheduleView(BaseModel):
    name: str
    cron: str
    createdBy: str
    createdAt: str
    request: Annotated[Any, WithJsonSchema({"allOf": [{"$ref": _REF.format(name="RebalanceRequestView")}]})]


class ScheduleAnswer(BaseModel):
    success: Literal[True]
    schedule: ScheduleView


class SchedulesAnswer(BaseModel):
    success: Literal[True]
    schedules: list[ScheduleView]


class ScheduleDeleted(BaseModel):
    success: Literal[True]
    deleted: str


class PortfolioStatusAnswer(BaseModel):
    success: Literal[True]
    portfolio: Annotated[Any, _ref(AccountStatus)]


class RiskMetricsView(BaseModel):
    """Risk of the account's weights over the window (fractions; ``start``..``end`` its first and last
    daily return)."""

    volatility: float | None
    maxDrawdown: float | None
    var95: float | None
    cvar95: float | None
    parametricVar95: float | None
    sharpe: float | None
    sortino: float | None
    beta: float | None
    start: str
    end: str
    observations: int


class RiskSnapshotView(BaseModel):
    weights: dict[str, float]
    volatility: float
    contributions: dict[str, float]
    contributionsByClass: dict[str, float]


class RiskBreakdownView(BaseModel):
    before: RiskSnapshotView
    after: RiskSnapshotView | None
    volatilityChange: float | None
    covarianceMethod: str
    shrinkage: float | None
    start: str
    end: str
    observations: int


class RiskView(BaseModel):
    metrics: RiskMetricsView
    breakdown: RiskBreakdownView


class RiskAnswer(BaseModel):
    success: Literal[True]
    accountId: str
    asOf: str
    weights: dict[str, str] = Field(description="the account's securities' weights (decimal strings)")
    risk: RiskView
    notice: str | None = Field(None, description="the day the window ends on, when it is not the date asked")


class MarketAnalysisAnswer(BaseModel):
    success: Literal[True]
    analysis: Annotated[Any, _ref(MarketConditions)]
    notice: str | None = Field(None, description="the day the analysis is of, when it is not the date asked")
    timestamp: str


class RealizedSale(BaseModel):
    date: str
    account: str
    symbol: str
    lotId: str
    shares: str
    acquired: str
    proceeds: str
    costBasis: str
    washSaleDisallowed: str
    permanentlyDisallowed: str
    gain: str
    term: Literal["short", "long"]
    code: str


class RealizedLot(BaseModel):
    account: str
    lotId: str
    symbol: str
    shares: str
    acquired: str
    holdingPeriodStart: str
    costBasis: str
    washSaleAdjustment: str


class RealizedYear(BaseModel):
    shortTerm: str
    longTerm: str
    disallowed: str
    permanentlyDisallowed: str
    deductibleLoss: str
    carryforward: str
    carryforwardShortTerm: str
    carryforwardLongTerm: str


class RealizedAnswer(BaseModel):
    """What ``rebalance tax realized --json`` prints, with camelCase keys: each sale, the open lots and the
    totals by year (amounts as decimal strings)."""

    sales: list[RealizedSale]
    lots: list[RealizedLot]
    years: dict[str, RealizedYear] = Field(description="by tax year")


class BatchAccepted(BaseModel):
    success: Literal[True]
    batchId: str
    total: int
    timestamp: str | None


class BatchRun(BaseModel):
    accountId: str
    runId: str
    status: Literal["pending", "running", "completed", "failed", "cancelled"]
    error: str | None = None


class BatchView(BaseModel):
    success: Literal[True]
    batchId: str
    status: str
    total: int
    completed: int
    failed: int
    cancelled: int
    running: int
    pending: int
    maxInFlight: int
    dryRun: bool
    startedAt: str | None
    finishedAt: str | None
    accountsPerSecond: float | None
    runs: list[BatchRun]


LotsAnswer = Annotated[Any, _ref(AccountLots)]
ReconcileAnswer = Annotated[Any, WithJsonSchema({"allOf": [{"$ref": _REF.format(name="ReconcileReportView")}]})]
