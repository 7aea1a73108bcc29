"""Custodian import over HTTP: ``POST /api/accounts/import`` (the body is the CSV file).

The file is parsed here (:mod:`shared.custodian_import`, pure), checked against the book as it is now
(accounts, households, tenants, runs in progress, known securities) and previewed account by account; the
write is the portfolio service's bulk write (``portfolio.v1.query.put-accounts``: validated whole, all or
nothing, idempotent by request id), so the gateway never writes KV ``portfolios``. Every problem is answered
at once with its line (422) and nothing is applied; ``dryRun=true`` answers what would change and applies
nothing (the ``read`` role suffices); applying needs ``trade`` (or ``admin``). The same ``Idempotency-Key``
names the same import: sent again, it applies nothing more."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from contracts import encode, subjects, to_builtins
from contracts.book import AccountWrite, FieldProblem, HouseholdWrite, PutAccounts, PutAccountsReply
from contracts.imports import AccountChange, ImportedAccount, ImportFormat
from services.gateway.import_book import read_book_view
from services.gateway.import_schemas import ImportAnswer, ImportProblems
from services.gateway.security import Principal, principal_of
from services.gateway.views import camel_keys
from shared.bus.request import request as ask
from shared.bus.runtime import ServiceRuntime
from shared.custodian_import import ImportOptions, parse_import
from shared.custodian_import.review import review_import

__all__ = ["import_id_of", "import_router", "problem_lines", "put_request"]

_ID = r"^[A-Za-z0-9_-]{1,128}$"
_ERRORS_SHOWN = 1000
RECORD_FACTOR = 3.5
"""The portfolio service records a bulk write (the new account states) in one bus message of about three times
the request's size (measured: 104 KB of request, 323 KB of record for 1,000 lots)."""
_PATH = re.compile(r"^accounts\[(\d+)\](?:\.lots\[(\d+)\])?(?:\.(.+))?$")
_HOUSEHOLD_PATH = re.compile(r"^households\[(\d+)\](?:\.(.+))?$")
FormatParam = Annotated[ImportFormat | None, Query(description="the layout; default: found from the header")]
AccountParam = Annotated[str | None, Query(pattern=_ID, description="the account of a one-account export (Schwab)")]
HouseholdParam = Annotated[
    str | None, Query(pattern=_ID, description="the household of new accounts the file does not place")
]
AsOfParam = Annotated[date | None, Query(description="the import's date (default today); no lot acquired after it")]
_BODY = {
    "required": True,
    "content": {"text/csv": {"schema": {"type": "string"}, "example": "account_id,household_id,symbol,shares,"
                             "cost_basis,acquired\nacct-1,house-1,VTI,10,2500.00,2021-03-15\n"}},
}  # fmt: skip


def import_id_of(tenant: str, idempotency_key: str | None) -> str:
    """The import's id: the tenant and the ``Idempotency-Key`` (the same key, the same import), else fresh."""
    if not idempotency_key:
        return f"import-{uuid.uuid4().hex}"
    return "import-" + hashlib.sha256(f"{tenant}:{idempotency_key}".encode()).hexdigest()[:32]


def put_request(
    import_id: str, tenant: str, accounts: list[ImportedAccount], changes: list[AccountChange], dry_run: bool
) -> PutAccounts:
    """The bulk write of an import: each account merged with its lots (and cash, household, type when the file
    gives them), each household it names created if absent. A function of the file alone (never of the
    book's revisions), so a retried import is the same request and applies once."""
    writes = []
    for account, change in zip(accounts, changes, strict=True):
        document: dict[str, Any] = {
            "household_id": change.household_id,
            "lots": [
                {
                    "lot_id": lot.lot_id,
                    "symbol": lot.symbol,
                    "shares": f"{lot.shares:f}",
                    "cost_basis": f"{lot.cost_basis:f}",
                    "acquired": lot.acquired.isoformat(),
                }
                for lot in account.lots
            ],
        }
        if account.cash is not None:
            document["cash"] = f"{account.cash:f}"
        if account.account_type is not None:
            document["account_type"] = account.account_type
        writes.append(AccountWrite(account_id=account.account_id, document=document, merge=True))
    households = sorted({change.household_id for change in changes})
    return PutAccounts(
        request_id=import_id,
        tenant=tenant,
        accounts=writes,
        households=[HouseholdWrite(household_id=h, document={}, merge=True) for h in households],
        dry_run=dry_run,
    )


def problem_lines(problems: list[FieldProblem], accounts: list[ImportedAccount], request: PutAccounts) -> list[str]:
    """The portfolio service's problems (``accounts[3].lots[2].shares: must be positive``) at the file's lines."""
    out = []
    for problem in problems:
        found = _PATH.match(problem.path)
        held = _HOUSEHOLD_PATH.match(problem.path)
        if found and int(found.group(1)) < len(accounts):
            account = accounts[int(found.group(1))]
            lot = int(found.group(2)) if found.group(2) else None
            line = account.lots[lot].line if lot is not None and lot < len(account.lots) else account.line
            field = found.group(3) or ("lot" if lot is not None else f"account {account.account_id}")
            out.append((line, f"{field}: {problem.message}"))
        elif held and int(held.group(1)) < len(request.households):
            household = request.households[int(held.group(1))].household_id
            line = min((a.line for a, w in zip(accounts, request.accounts, strict=True)
                        if (w.document or {}).get("household_id") == household), default=1)  # fmt: skip
            out.append((line, f"household {household}: {problem.message}"))
        else:
            out.append((1, f"{problem.path}: {problem.message}"))
    return [f"line {line}: {message}" for line, message in sorted(set(out))]


def _refused(status: int, errors: list[str], **extra: Any) -> JSONResponse:
    shown = errors[:_ERRORS_SHOWN]
    more = f" (the first {_ERRORS_SHOWN} are listed)" if len(errors) > len(shown) else ""
    summary = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the file; nothing was applied{more}"
    return JSONResponse({"success": False, "error": summary, "errors": shown, **extra}, status_code=status)


def _answer(
    import_id: str, fmt: str | None, changes: list[AccountChange], *, dry_run: bool, reply: PutAccountsReply | None
) -> JSONResponse:
    return JSONResponse(
        {
            "success": True,
            "importId": import_id,
            "format": fmt,
            "dryRun": dry_run,
            "applied": reply is not None and reply.outcome == "applied",
            "alreadyApplied": reply is not None and reply.already_applied,
            "accounts": camel_keys(to_builtins(changes)),
        }
    )


def import_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["book"])

    @router.post(
        "/api/accounts/import",
        openapi_extra={"requestBody": _BODY},
        response_model=ImportAnswer,
        responses={
            200: {"description": "what changed (or, with dryRun, what would change), per account"},
            403: {"description": "applying needs the trade role"},
            409: {"description": "the import id was used for another file"},
            413: {"description": "too many lots for one bus message: split the file by account"},
            422: {
                "model": ImportProblems,
                "description": "every problem of the file, each with its line; nothing applied",
            },
        },
    )
    async def import_accounts(
        request: Request,
        format: FormatParam = None,
        dryRun: Annotated[bool, Query(description="say what would change, apply nothing")] = False,
        accountId: AccountParam = None,
        householdId: HouseholdParam = None,
        asOf: AsOfParam = None,
        idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
        principal: Principal = Depends(principal_of),
    ) -> JSONResponse:
        """Import positions with tax lots from a custodian file (generic, Schwab lot details, IBKR open
        positions): each account's lots (and cash, when the file has cash rows) become its new starting
        position. Every problem is answered with its line and nothing is applied."""
        if not dryRun and not principal.may("trade"):
            message = "applying an import needs the 'trade' role (a dry run needs 'read')"
            return JSONResponse({"success": False, "error": message}, status_code=403)
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return _refused(422, [f"the file is not UTF-8 text (byte {exc.start})"])
        options = ImportOptions(account_id=accountId, as_of=asOf or runtime.clock.now().date())
        parsed = await asyncio.to_thread(parse_import, text, format, options)
        if parsed.errors:
            return _refused(422, parsed.errors, format=parsed.format)
        book = await read_book_view(runtime, parsed.accounts, principal.tenant, householdId)
        review = review_import(parsed.accounts, principal.tenant, book, householdId)
        if review.errors:
            return _refused(422, review.errors, format=parsed.format)
        import_id = import_id_of(principal.tenant, idempotency_key)
        put = put_request(import_id, principal.tenant, parsed.accounts, review.changes, dryRun)
        size, most = len(encode(put)), runtime.broker.connection.max_payload
        if size * RECORD_FACTOR > most:
            lots = sum(len(a.lots) for a in parsed.accounts)
            message = (
                f"{lots} lots in {len(parsed.accounts)} accounts are too many for one import on this bus: the write "
                f"is about {int(size * RECORD_FACTOR)} bytes in one message, over its max_payload of {most} bytes; "
                "split the file by account (or raise max_payload: deploy/nats sets 8 MB)"
            )
            return JSONResponse({"success": False, "error": message}, status_code=413)
        reply = await ask(runtime.broker, subjects.PORTFOLIO_QUERY_PUT_ACCOUNTS, put, PutAccountsReply, timeout=60.0)
        if reply.outcome == "refused":
            message = "; ".join(p.message for p in reply.problems) or "refused"
            return JSONResponse(
                {"success": False, "error": f"import {import_id}: {message} (send another Idempotency-Key)"},
                status_code=409,
            )
        if reply.outcome in ("invalid", "not-found", "stale"):
            problems = reply.problems or [
                FieldProblem(path=f"{s.kind} {s.id}", message="changed meanwhile; import again") for s in reply.stale
            ]
            return _refused(422, problem_lines(problems, parsed.accounts, put), format=parsed.format)
        return _answer(import_id, parsed.format, review.changes, dry_run=dryRun, reply=reply)

    return router
