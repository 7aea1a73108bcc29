"""The book over HTTP: accounts, households and models as resources, outside transactions and book loads.

The gateway never writes the bucket ``portfolios``: it asks the portfolio service (:mod:`contracts.book`).

* ``GET/PUT/DELETE /api/accounts/{accountId}``, ``GET/PUT /api/households/{householdId}``,
  ``GET/PUT /api/models/{name}``: documents of the household file (camelCase answers; camelCase or snake_case
  accepted). Every GET answers an ``ETag`` (the object's revision). Writes are compare-and-set:
  ``If-Match: "<etag>"`` replaces (or deletes) only that revision, else 412; ``If-None-Match: *`` creates only,
  else 412; a PUT with neither creates a new object and answers 428 for an existing one (send its ETag); a
  DELETE needs ``If-Match``. Validation errors answer 422 naming each field (``lots[2].shares``).
* ``POST /api/accounts/{accountId}/transactions``: an outside trade, a deposit or a withdrawal.
* ``POST /api/accounts/load?mode=replace|merge``: a household file or a book, applied explicitly.

Another tenant's account or household answers 404. Reads need the role ``read``; writes ``admin`` (the
gateway's rule for account writes, :data:`services.gateway.security.ROLE_RULES`). An account with a run in
progress cannot be changed or deleted (409, naming the run).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contracts import RunRecord, subjects, to_builtins
from contracts.book import (
    AccountWrite,
    BookObject,
    BookObjectKind,
    BookObjectQuery,
    HouseholdWrite,
    LoadBook,
    ModelWrite,
    PutAccounts,
    PutAccountsReply,
    RecordTransaction,
    TransactionRecorded,
)
from contracts.runs import account_lock_key, run_key
from services.gateway.book_views import (
    AccountView,
    BookError,
    HouseholdView,
    LoadView,
    ModelView,
    RemovedView,
    TransactionView,
)
from services.gateway.security import principal_of
from services.gateway.views import camel_keys
from shared.bus import kv as kvops
from shared.bus.request import request as ask
from shared.bus.runtime import ServiceRuntime
from shared.errors import DomainError, InvalidInputError, NotFoundError

__all__ = ["accounts_router"]

_ID = r"^[A-Za-z0-9_-]{1,128}$"
AccountId = Annotated[str, Path(pattern=_ID, description="an account's id")]
HouseholdId = Annotated[str, Path(pattern=_ID, description="a household's id")]
ModelName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="a model's name")]
IfMatch = Annotated[str | None, Header(description='the ETag of the version to replace or delete ("12")')]
IfNoneMatch = Annotated[str | None, Header(description="`*`: create only")]
IdempotencyKey = Annotated[str | None, Header(description="a retried write with the same key is applied once")]
Document = Annotated[dict[str, Any], Body(description="the object as in the household file")]
_TERMINAL = ("completed", "failed", "cancelled")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,19})"?$')
_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown (or another tenant's)", "model": BookError},
    409: {"description": "a run in progress, or a rule forbids it", "model": BookError},
    412: {"description": "If-Match / If-None-Match does not match", "model": BookError},
    422: {"description": "invalid: `problems` name each field", "model": BookError},
    428: {"description": "If-Match required to replace an existing object", "model": BookError},
}
_CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "created"}}


class TransactionBody(BaseModel):
    """An outside transaction (camelCase). Amounts as decimal strings (or numbers)."""

    model_config = ConfigDict(extra="forbid")
    clientTransactionId: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="idempotency: once per id")
    type: Literal["buy", "sell", "deposit", "withdrawal"]
    date: dt.date = Field(ge=dt.date(1900, 1, 1), description="the trade date (not after today)")
    symbol: str | None = Field(default=None, max_length=16)
    shares: Decimal | None = Field(default=None, gt=0, le=Decimal("1e9"), decimal_places=8)
    price: Decimal | None = Field(default=None, gt=0, le=Decimal("1e9"), decimal_places=8)
    fees: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("1e9"), decimal_places=8)
    amount: Decimal | None = Field(default=None, gt=0, le=Decimal("1e12"), decimal_places=2)


def _etag(revision: int) -> str:
    return f'"{revision}"'


def _problem_view(path: str, message: str, prefix: str) -> dict[str, str]:
    """``accounts[0].lots[2].shares`` as ``lots[2].shares`` for a write of one object."""
    if path == prefix:
        path = "body"
    elif path.startswith(prefix + "."):
        path = path[len(prefix) + 1 :]
    return {"path": path, "message": message}


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": False, "error": message, **extra}, status_code=status)


def _expected(if_match: str | None, if_none_match: str | None, current: int | None) -> int | None:
    """The revision a write expects: ``0`` create only, ``n`` that revision, ``-1`` an ETag that cannot match
    (answered 412); ``None`` when neither header is given. ``current``: the revision ``If-Match: *`` stands for."""
    if if_none_match is not None:
        return 0 if if_none_match.strip() == "*" else -1
    if if_match is None:
        return None
    if if_match.strip() == "*":
        return current or -1
    found = _ETAG.match(if_match.strip())
    return int(found.group(1)) if found else -1


def accounts_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["book"])

    async def read(kind: BookObjectKind, id_: str, tenant: str) -> BookObject:
        query = BookObjectQuery(kind=kind, id=id_, tenant=tenant)
        return await ask(runtime.broker, subjects.PORTFOLIO_QUERY_BOOK_OBJECT, query, BookObject)

    async def revision_of(kind: BookObjectKind, id_: str, tenant: str) -> int:
        try:
            return (await read(kind, id_, tenant)).revision
        except NotFoundError:
            return 0

    def view(obj: BookObject, status: int = 200) -> JSONResponse:
        body: dict[str, Any] = camel_keys(obj.document)
        return JSONResponse(body, status_code=status, headers={"ETag": _etag(obj.revision)})

    async def run_in_progress(account_id: str) -> str | None:
        """The run holding the account's lock, if it has not finished."""
        bucket = await runtime.kv(subjects.KV_RUNS)
        entry, _ = await kvops.read(bucket, account_lock_key(account_id), dict)
        run_id = entry.get("run_id") if isinstance(entry, dict) else None
        if not isinstance(run_id, str):
            return None
        record, _ = await kvops.read(bucket, run_key(run_id), RunRecord)
        return run_id if record is not None and record.status not in _TERMINAL else None

    async def write(
        put: PutAccounts,
        *,
        kind: BookObjectKind,
        id_: str,
        prefix: str,
        precondition_given: bool,
    ) -> JSONResponse:
        reply = await ask(runtime.broker, subjects.PORTFOLIO_QUERY_PUT_ACCOUNTS, put, PutAccountsReply)
        if reply.outcome == "invalid":
            problems = [_problem_view(p.path, p.message, prefix) for p in reply.problems]
            text = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
            return _error(422, text, problems=problems)
        if reply.outcome == "not-found":
            return _error(404, reply.problems[0].message if reply.problems else f"unknown {kind} {id_!r}")
        if reply.outcome == "refused":
            return _error(409, "; ".join(p.message for p in reply.problems))
        if reply.outcome == "stale":
            stale = reply.stale[0]
            if not precondition_given:
                return _error(
                    428,
                    f"{kind} {id_!r} exists (ETag {_etag(stale.revision)}): send If-Match with its ETag to replace it",
                )
            now = f"ETag {_etag(stale.revision)}" if stale.revision else "it does not exist"
            return _error(412, f"{kind} {id_!r}: If-Match/If-None-Match does not match ({now})")
        change = next((c for c in reply.changes if c.kind == kind and c.id == id_), None)
        if change is not None and change.change == "removed":
            return JSONResponse({"success": True, "removed": kind, "id": id_})
        obj = await read(kind, id_, put.tenant)
        return view(obj, status=201 if change is not None and change.change == "added" else 200)

    def request_id(key: str | None) -> str:
        return f"http-{key}" if key else f"http-{uuid.uuid4()}"

    # ---- accounts -----------------------------------------------------------------------------------------
    @router.get("/api/accounts/{account_id}", responses=_RESPONSES, response_model=AccountView)
    async def get_account(account_id: AccountId, request: Request) -> JSONResponse:
        """The account as an object of the household file plus ``householdId`` and ``tenant`` (camelCase),
        with its ``ETag``. ``lots`` are the stored positions (cost before wash-sale adjustments; the adjusted
        view is ``/api/portfolio/{accountId}/lots``)."""
        return view(await read("account", account_id, principal_of(request).tenant))

    @router.put("/api/accounts/{account_id}", responses={**_RESPONSES, **_CREATED}, response_model=AccountView)
    async def put_account(
        account_id: AccountId,
        document: Document,
        request: Request,
        if_match: IfMatch = None,
        if_none_match: IfNoneMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Create or replace an account: the account object of the household file plus ``householdId`` (its
        household must exist; a new account joins it and its wash-sale checks). ``model`` names a built-in or
        a stored model; ``target`` gives its own asset-class targets instead. 201 when created."""
        tenant = principal_of(request).tenant
        current = await revision_of("account", account_id, tenant) if if_match == "*" else None
        expected = _expected(if_match, if_none_match, current)
        if expected:
            running = await run_in_progress(account_id)
            if running is not None:
                return _error(409, f"account {account_id!r} has a run in progress ({running}): try when it ends")
        write_ = AccountWrite(account_id=account_id, document=document, expected_revision=expected or 0)
        put = PutAccounts(request_id=request_id(idempotency_key), tenant=tenant, accounts=[write_])
        given = if_match is not None or if_none_match is not None
        return await write(put, kind="account", id_=account_id, prefix="accounts[0]", precondition_given=given)

    @router.delete("/api/accounts/{account_id}", responses=_RESPONSES, response_model=RemovedView)
    async def delete_account(
        account_id: AccountId,
        request: Request,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Delete an account (it leaves its household). Needs ``If-Match``; refused (409) while a run is in
        progress for it."""
        tenant = principal_of(request).tenant
        if if_match is None:
            await read("account", account_id, tenant)  # 404 first for an unknown account
            return _error(428, f"account {account_id!r}: send If-Match with its ETag to delete it")
        expected = _expected(if_match, None, await revision_of("account", account_id, tenant))
        running = await run_in_progress(account_id)
        if running is not None:
            return _error(409, f"account {account_id!r} has a run in progress ({running}): it cannot be deleted now")
        put = PutAccounts(
            request_id=request_id(idempotency_key),
            tenant=tenant,
            accounts=[AccountWrite(account_id=account_id, expected_revision=expected)],
        )
        return await write(put, kind="account", id_=account_id, prefix="accounts[0]", precondition_given=True)

    @router.post(
        "/api/accounts/{account_id}/transactions",
        responses=_RESPONSES,
        status_code=201,
        response_model=TransactionView,
    )
    async def post_transaction(account_id: AccountId, body: TransactionBody, request: Request) -> JSONResponse:
        """Record an outside trade (``buy``/``sell`` with ``symbol``, ``shares``, ``price``, ``fees``, ``date``),
        a ``deposit`` or a ``withdrawal`` (``amount``). A sell relieves lots by the account's lot method; a buy
        opens lot ``ext-<clientTransactionId>`` and is a replacement purchase for any loss sold in the
        household within 30 days (a wash sale). The same ``clientTransactionId`` again changes nothing (200,
        ``alreadyRecorded``)."""
        tenant = principal_of(request).tenant
        running = await run_in_progress(account_id)
        if running is not None:
            return _error(409, f"account {account_id!r} has a run in progress ({running}): record it when it ends")
        query = RecordTransaction(
            account_id=account_id,
            tenant=tenant,
            client_transaction_id=body.clientTransactionId,
            type=body.type,
            date=body.date,
            symbol=(body.symbol or "").strip().upper(),
            shares=body.shares,
            price=body.price,
            fees=body.fees,
            amount=body.amount,
        )
        try:
            recorded = await ask(
                runtime.broker, subjects.PORTFOLIO_QUERY_RECORD_TRANSACTION, query, TransactionRecorded
            )
        except NotFoundError as exc:
            return _error(404, exc.message)
        except InvalidInputError as exc:
            path, _, message = exc.message.partition(": ")
            return _error(422, exc.message, problems=[{"path": path, "message": message}])
        except DomainError as exc:
            return _error(409, exc.message)
        out: dict[str, Any] = camel_keys(to_builtins(recorded))
        status = 200 if recorded.already_recorded else 201
        return JSONResponse({"success": True, **out}, status_code=status, headers={"ETag": _etag(recorded.revision)})

    @router.post("/api/accounts/load", responses=_RESPONSES, response_model=LoadView)
    async def load(
        book: Document,
        request: Request,
        mode: Annotated[Literal["replace", "merge"] | None, Query(description="replace or merge")] = None,
        dry_run: Annotated[bool, Query(alias="dryRun", description="say what would change, write nothing")] = False,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Load a household file (or a book ``{"households": [...], "models": [...]}``) explicitly:
        ``mode=replace`` makes the caller's book equal to the file (accounts and households not in it are
        removed), ``mode=merge`` adds and updates only. Answers what changed, per household."""
        if mode is None:
            return _error(422, "mode: required: replace (the book becomes the file) or merge (add and update only)")
        tenant = principal_of(request).tenant
        query = LoadBook(request_id=request_id(idempotency_key), tenant=tenant, book=book, mode=mode, dry_run=dry_run)
        reply = await ask(runtime.broker, subjects.PORTFOLIO_QUERY_LOAD_BOOK, query, PutAccountsReply)
        if reply.outcome == "invalid":
            problems = [{"path": p.path, "message": p.message} for p in reply.problems]
            return _error(422, "; ".join(f"{p['path']}: {p['message']}" for p in problems), problems=problems)
        if reply.outcome in ("refused", "not-found", "stale"):
            return _error(409, "; ".join(p.message for p in reply.problems) or reply.outcome)
        body: dict[str, Any] = camel_keys(to_builtins(reply))
        return JSONResponse({"success": True, "mode": mode, "dryRun": dry_run, **body})

    # ---- households ---------------------------------------------------------------------------------------
    @router.get("/api/households/{household_id}", responses=_RESPONSES, response_model=HouseholdView)
    async def get_household(household_id: HouseholdId, request: Request) -> JSONResponse:
        """The household: ``taxProfile``, ``tenant`` and ``accountIds``, with its ``ETag``."""
        return view(await read("household", household_id, principal_of(request).tenant))

    @router.put("/api/households/{household_id}", responses={**_RESPONSES, **_CREATED}, response_model=HouseholdView)
    async def put_household(
        household_id: HouseholdId,
        document: Document,
        request: Request,
        if_match: IfMatch = None,
        if_none_match: IfNoneMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Create or replace a household's ``taxProfile`` (every account of it takes the new profile).
        ``accountIds``, when given, must list its accounts: an account joins or leaves a household through its
        own ``householdId``."""
        tenant = principal_of(request).tenant
        current = await revision_of("household", household_id, tenant) if if_match == "*" else None
        expected = _expected(if_match, if_none_match, current)
        write_ = HouseholdWrite(household_id=household_id, document=document, expected_revision=expected or 0)
        put = PutAccounts(request_id=request_id(idempotency_key), tenant=tenant, households=[write_])
        given = if_match is not None or if_none_match is not None
        return await write(put, kind="household", id_=household_id, prefix="households[0]", precondition_given=given)

    # ---- models -------------------------------------------------------------------------------------------
    @router.get("/api/models/{name}", responses=_RESPONSES, response_model=ModelView)
    async def get_model(name: ModelName, request: Request) -> JSONResponse:
        """A model: ``targets`` (asset class to percent) and ``securities`` (``symbol``, ``percent`` of the
        account, ``substitutes``). The built-in models answer with ETag ``"0"`` and cannot be written."""
        return view(await read("model", name, principal_of(request).tenant))

    @router.put("/api/models/{name}", responses={**_RESPONSES, **_CREATED}, response_model=ModelView)
    async def put_model(
        name: ModelName,
        document: Document,
        request: Request,
        if_match: IfMatch = None,
        if_none_match: IfNoneMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Create or replace one of the tenant's models; accounts name it in their ``model``. A changed model
        reaches every account assigned to it at its next run."""
        tenant = principal_of(request).tenant
        current = await revision_of("model", name, tenant) if if_match == "*" else None
        expected = _expected(if_match, if_none_match, current)
        write_ = ModelWrite(name=name, document=document, expected_revision=expected or 0)
        put = PutAccounts(request_id=request_id(idempotency_key), tenant=tenant, models=[write_])
        given = if_match is not None or if_none_match is not None
        return await write(put, kind="model", id_=name, prefix="models[0]", precondition_given=given)

    return router
