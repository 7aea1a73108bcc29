"""The live lot ledger over HTTP, answered by the portfolio service from its household ledger (the same
engine as ``rebalance tax realized``):

- ``GET /api/portfolio/{accountId}/lots``: the account's open lots (adjusted basis, tacked holding period).
- ``GET /api/portfolio/{accountId}/transactions.csv``: every transaction of the account's household
  (initial lots as buys on their acquisition dates at their cost, then every executed fill), in the CSV
  format ``rebalance tax realized`` reads.
- ``GET /api/portfolio/{accountId}/form8949.csv?year=YYYY``: the account's Form 8949 rows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from contracts import subjects, to_builtins
from contracts.queries import AccountLots, LedgerDocument, LedgerQuery
from services.gateway.responses import ERRORS, LotsAnswer
from shared.bus.request import request as ask
from shared.bus.runtime import ServiceRuntime

__all__ = ["ledger_router"]

AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="an account's id")]
_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}, 404: {"description": "unknown account"}}


def _csv(document: LedgerDocument) -> Response:
    return Response(
        document.text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{document.filename}"'},
    )


def ledger_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["ledger"])

    @router.get("/api/portfolio/{account_id}/lots", response_model=LotsAnswer, responses=ERRORS)
    async def lots(account_id: AccountId) -> JSONResponse:
        """``{"accountId", "lots": [{"lotId", "symbol", "shares", "costBasis" (total, adjusted), "acquired",
        "holdingPeriodStart", "washSaleAdjustment"}]}``; amounts are decimal strings."""
        reply = await ask(
            runtime.broker, subjects.PORTFOLIO_QUERY_LOTS, LedgerQuery(account_id=account_id), AccountLots
        )
        return JSONResponse(to_builtins(reply))

    @router.get("/api/portfolio/{account_id}/transactions.csv", response_class=Response, responses=_CSV)
    async def transactions_csv(account_id: AccountId) -> Response:
        query = LedgerQuery(account_id=account_id)
        return _csv(await ask(runtime.broker, subjects.PORTFOLIO_QUERY_TRANSACTIONS, query, LedgerDocument))

    @router.get("/api/portfolio/{account_id}/form8949.csv", response_class=Response, responses=_CSV)
    async def form8949_csv(
        account_id: AccountId,
        year: Annotated[int | None, Query(ge=1900, le=2999, description="the tax year (every year if absent)")] = None,
    ) -> Response:
        query = LedgerQuery(account_id=account_id, year=year)
        return _csv(await ask(runtime.broker, subjects.PORTFOLIO_QUERY_FORM8949, query, LedgerDocument))

    return router
