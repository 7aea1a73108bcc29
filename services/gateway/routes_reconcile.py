"""Reconciliation of the ledger with the broker over HTTP (answered by the execution service):

* ``GET /api/accounts/{accountId}/reconcile``: the account's broker account, ledger against broker;
* ``GET /api/reconcile``: every broker account;
* ``POST /api/accounts/{accountId}/reconcile/clear``: a person lifts a break (``{"by": "name"}``), and
  the accounts mapped to that broker account may trade again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from contracts import ReconcileQuery, ReconcileReport, subjects, to_builtins
from services.gateway.responses import ERRORS, ReconcileAnswer
from services.gateway.views import camel_keys
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError, NotFoundError, TransientError

__all__ = ["reconcile_router"]

AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="an account's id")]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status)


def reconcile_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["reconciliation"])

    async def ask(query: ReconcileQuery) -> Any:
        try:
            reports = await request(
                runtime.broker, subjects.EXECUTION_QUERY_RECONCILE, query, list[ReconcileReport], timeout=30.0
            )
        except NotFoundError as exc:
            return _error(404, exc.message)
        except InvalidInputError as exc:
            return _error(400, exc.message)
        except TransientError as exc:
            return _error(503, exc.message)
        return [camel_keys(to_builtins(r)) for r in reports]  # the API's one casing

    @router.get("/api/accounts/{account_id}/reconcile", response_model=ReconcileAnswer, responses=ERRORS)
    async def reconcile_account(account_id: AccountId) -> Any:
        """The ledger's positions and cash of the accounts sharing this account's broker account, against the
        broker's: ``inSync``, each differing symbol with both quantities, ``blocked`` while a break stands."""
        answer = await ask(ReconcileQuery(account_id=account_id))
        return answer if isinstance(answer, JSONResponse) else answer[0]

    @router.get("/api/reconcile", response_model=list[ReconcileAnswer], responses=ERRORS)
    async def reconcile_all() -> Any:
        """Every broker account, reconciled."""
        return await ask(ReconcileQuery())

    @router.post("/api/accounts/{account_id}/reconcile/clear", response_model=ReconcileAnswer, responses=ERRORS)
    async def clear_break(
        account_id: AccountId,
        by: Annotated[str, Body(embed=True, min_length=1, max_length=200, description="who clears it")] = "api",
    ) -> Any:
        """Lift the break of this account's broker account: its accounts may trade again."""
        answer = await ask(ReconcileQuery(account_id=account_id, clear=True, by=by))
        return answer if isinstance(answer, JSONResponse) else answer[0]

    return router
