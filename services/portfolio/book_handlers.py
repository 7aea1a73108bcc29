"""The book as a resource (:mod:`contracts.book`): read, write and load accounts, households and models, and
record outside transactions. Only this service writes the bucket ``portfolios``; the gateway asks.

A book write is validated whole (:func:`~services.portfolio.domain.book_writes.plan_writes`), then its writes
are recorded under ``request.<request_id>`` before any is made, then made one by one with compare-and-set:

* a write that loses a race before anything was written re-plans the request (a client's revision then
  answers ``stale``); after the first write the request is committed and the rest is rolled forward;
* the same ``request_id`` again answers the recorded reply (``already_applied``), finishing a write a crash
  interrupted; with another request it is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from contracts import decode_as, encode
from contracts.book import (
    AccountWrite,
    BookObject,
    BookObjectQuery,
    FieldProblem,
    HouseholdWrite,
    LoadBook,
    ModelWrite,
    PutAccounts,
    PutAccountsReply,
    RecordTransaction,
    TransactionRecorded,
)
from services.portfolio.book_recovery import mark_unfinished, roll_forward, unfinished_requests, written
from services.portfolio.domain import MODELS, AccountState, account_ledger_lots, household_ledger, parse_book
from services.portfolio.domain.book_writes import Current, Write, plan_writes
from services.portfolio.domain.documents import (
    account_document,
    builtin_model,
    household_document,
    model_document,
    parse_model,
    snake_keys,
)
from services.portfolio.domain.outside import check_transaction, record_outside
from services.portfolio.domain.state import ModelState, request_key
from services.portfolio.store import PortfolioStore
from shared.bus import kv as kvops
from shared.bus.runtime import ServiceRuntime
from shared.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from shared.log import get_logger
from shared.lot_ledger import TransactionError
from shared.securities import SecurityMaster

__all__ = ["BookHandlers", "BookRequestRecord"]

log = get_logger("portfolio.book")

_REPLANS = 5
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
"""What may name an object or a request: a token of a KV key (anything else is unknown or refused)."""


class PendingWrite(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    value: msgspec.Raw = msgspec.Raw(b"null")
    delete: bool = False
    revision: int = -1
    """The key's revision when the request was planned (0: absent): a roll-forward writes only a key still
    there (:mod:`.book_recovery`); -1 in records written before it was kept."""


class BookRequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A book write as committed: its reply and its writes (rolled forward if a crash interrupted them)."""

    request_id: str
    fingerprint: str
    reply: PutAccountsReply
    writes: list[PendingWrite]
    done: bool = False


def _fingerprint(request: PutAccounts) -> str:
    body = encode(msgspec.structs.replace(request, request_id="", dry_run=False))
    return hashlib.sha256(body).hexdigest()


def _invalid(request_id: str, exc: InvalidInputError, where: str = "") -> PutAccountsReply:
    path, sep, message = exc.message.partition(": ")
    problem = FieldProblem(path=path if sep else where, message=message if sep else exc.message)
    return PutAccountsReply(request_id=request_id, outcome="invalid", problems=[problem])


class BookHandlers:
    def __init__(
        self,
        runtime: ServiceRuntime,
        store: Callable[[], Awaitable[PortfolioStore]],
        securities: SecurityMaster,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.securities = securities
        self._lock = asyncio.Lock()

    # ---- reads --------------------------------------------------------------------------------------------
    async def book_object(self, body: bytes) -> BookObject:
        query = decode_as(body, BookObjectQuery)
        if not (_KEY_ID.fullmatch(query.id) and _KEY_ID.fullmatch(query.tenant)):
            raise NotFoundError(f"unknown {query.kind} {query.id!r}")
        store = await self.store()
        if query.kind == "account":
            account, revision = await store.read_account(query.id)
            if account is None or account.account.tenant != query.tenant:
                raise NotFoundError(f"unknown account {query.id!r}")
            return BookObject(kind="account", id=query.id, revision=revision, document=account_document(account))
        if query.kind == "household":
            household, revision = await store.read_household(query.id)
            if household is None or household.tenant != query.tenant:
                raise NotFoundError(f"unknown household {query.id!r}")
            document = household_document(household)
            return BookObject(kind="household", id=query.id, revision=revision, document=document)
        if query.id in MODELS:
            document = model_document(builtin_model(query.id))
            return BookObject(kind="model", id=query.id, revision=0, document=document)
        model, revision = await store.read_model(query.tenant, query.id)
        if model is None:
            raise NotFoundError(f"unknown model {query.id!r}")
        return BookObject(kind="model", id=query.id, revision=revision, document=model_document(model))

    # ---- writes -------------------------------------------------------------------------------------------
    async def put_accounts(self, body: bytes) -> PutAccountsReply:
        return await self.put(decode_as(body, PutAccounts))

    async def put(self, request: PutAccounts) -> PutAccountsReply:
        """Apply (or preview) ``request``: see the module's docstring."""
        if not (_KEY_ID.fullmatch(request.request_id) and _KEY_ID.fullmatch(request.tenant)):
            problem = FieldProblem(
                path="request_id", message="request_id and tenant: 1 to 128 letters, digits, '-' or '_'"
            )
            return PutAccountsReply(request_id=request.request_id, outcome="invalid", problems=[problem])
        fingerprint = _fingerprint(request)
        store = await self.store()
        async with self._lock:
            if not request.dry_run:
                record, revision = await kvops.read(store.bucket, request_key(request.request_id), BookRequestRecord)
                if record is not None:
                    return await self._again(store, record, revision, request, fingerprint)
            for _ in range(_REPLANS):
                current = await self._current(store, request)
                plan = plan_writes(request, current, self.securities)
                reply = PutAccountsReply(
                    request_id=request.request_id,
                    outcome=plan.outcome,
                    problems=plan.problems,
                    stale=plan.stale,
                    changes=plan.changes,
                )
                if plan.outcome != "applied":
                    return reply
                committed = await self._commit(store, request, fingerprint, reply, plan.writes)
                if committed is not None:
                    return committed
            raise ConflictError(f"book write {request.request_id}: gave up after {_REPLANS} conflicting writes")

    async def _again(
        self, store: PortfolioStore, record: BookRequestRecord, revision: int, request: PutAccounts, fingerprint: str
    ) -> PutAccountsReply:
        if record.fingerprint != fingerprint:
            problem = FieldProblem(path="request_id", message="already used for another request")
            return PutAccountsReply(request_id=request.request_id, outcome="refused", problems=[problem])
        if not record.done:  # a crash interrupted it: the request was committed, finish it
            record = await self._finish(store, record, revision)
        return msgspec.structs.replace(record.reply, already_applied=True)

    async def _finish(self, store: PortfolioStore, record: BookRequestRecord, revision: int) -> BookRequestRecord:
        """Make the writes of a committed request a crash interrupted (never over a later change), then mark
        it done."""
        revisions = await roll_forward(store.bucket, record.request_id, record.writes)
        done = msgspec.structs.replace(
            record, reply=msgspec.structs.replace(record.reply, revisions=revisions), done=True
        )
        with contextlib.suppress(ConflictError):  # another finisher marked it done meanwhile
            await kvops.update(store.bucket, request_key(record.request_id), done, revision)
        await written(store.bucket, record.request_id)
        return done

    async def finish_interrupted(self) -> None:
        """At start-up: finish every committed book write a crash left unfinished (see :mod:`.book_recovery`)."""
        store = await self.store()
        finished = 0
        for request_id in await unfinished_requests(store.bucket):
            record, revision = await kvops.read(store.bucket, request_key(request_id), BookRequestRecord)
            if record is not None and not record.done:
                await self._finish(store, record, revision)
                finished += 1
            else:
                await written(store.bucket, request_id)
        if finished:
            log.info("interrupted book writes finished", count=finished)

    async def _commit(
        self,
        store: PortfolioStore,
        request: PutAccounts,
        fingerprint: str,
        reply: PutAccountsReply,
        writes: list[Write],
    ) -> PutAccountsReply | None:
        """Record the request, then make its writes; ``None`` when a compare-and-set lost before anything was
        written (the caller plans the request again)."""
        pending = [
            PendingWrite(key=w.key, delete=True, revision=w.revision)
            if w.value is None
            else PendingWrite(key=w.key, value=msgspec.Raw(encode(w.value)), revision=w.revision)
            for w in writes
        ]
        record = BookRequestRecord(request_id=request.request_id, fingerprint=fingerprint, reply=reply, writes=pending)
        await mark_unfinished(store.bucket, request.request_id, self.runtime.clock.now())  # before the record
        record_revision = await kvops.create(store.bucket, request_key(request.request_id), record)
        if record_revision is None:
            return None
        revisions: dict[str, int] = {}
        for index, write in enumerate(writes):
            try:
                revision = await store.write(write.key, write.value, write.revision)
            except ConflictError:
                if index == 0:  # nothing written yet: forget the request and plan it again
                    await store.bucket.delete(request_key(request.request_id))
                    await written(store.bucket, request.request_id)
                    return None
                revision = await store.overwrite(write.key, write.value)
            revisions[f"{write.kind}.{write.id}"] = revision
        reply = msgspec.structs.replace(reply, revisions=revisions)
        done = msgspec.structs.replace(record, reply=reply, done=True)
        await kvops.update(store.bucket, request_key(request.request_id), done, record_revision)
        await written(store.bucket, request.request_id)
        log.info("book written", request_id=request.request_id, writes=len(writes), tenant=request.tenant)
        return reply

    async def _current(self, store: PortfolioStore, request: PutAccounts) -> Current:
        """Every stored object ``request`` touches (accounts, their households and those households' accounts)."""
        account_ids = {w.account_id for w in request.accounts if _KEY_ID.fullmatch(w.account_id)}
        accounts = dict(
            zip(account_ids, await asyncio.gather(*(store.read_account(a) for a in account_ids)), strict=True)
        )
        household_ids = {w.household_id for w in request.households if _KEY_ID.fullmatch(w.household_id)}
        for write in request.accounts:
            if write.document is not None:
                named = write.document.get("household_id", write.document.get("householdId"))
                if isinstance(named, str) and _KEY_ID.fullmatch(named):
                    household_ids.add(named)
        household_ids |= {state.account.household_id for state, _ in accounts.values() if state is not None}
        ordered = sorted(household_ids)
        households = dict(zip(ordered, await asyncio.gather(*(store.read_household(h) for h in ordered)), strict=True))
        members = {a for household, _ in households.values() if household is not None for a in household.account_ids}
        more = sorted(members - account_ids)
        accounts.update(zip(more, await asyncio.gather(*(store.read_account(a) for a in more)), strict=True))
        models = await store.tenant_models(request.tenant) if _KEY_ID.fullmatch(request.tenant) else {}
        return Current(accounts=accounts, households=households, models=models)

    # ---- a household file or a book -----------------------------------------------------------------------
    async def load_book(self, body: bytes) -> PutAccountsReply:
        query = decode_as(body, LoadBook)
        try:
            request = await self._book_request(query)
        except InvalidInputError as exc:
            return _invalid(query.request_id, exc)
        return await self.put(request)

    async def _book_request(self, query: LoadBook) -> PutAccounts:
        store = await self.store()
        data: Any = snake_keys(query.book)
        if not isinstance(data, dict):
            raise InvalidInputError('book: expected a household or {"households": [...]}')
        data = dict(data)
        raw_models = data.pop("models", [])
        if not isinstance(raw_models, list):
            raise InvalidInputError("models: expected a list")
        models: dict[str, ModelState] = {
            name: model for name, (model, _) in (await store.tenant_models(query.tenant)).items() if model is not None
        }
        model_writes = []
        for i, raw in enumerate(raw_models):
            name = raw.get("name") if isinstance(raw, dict) else None
            if not isinstance(name, str):
                raise InvalidInputError(f"models[{i}].name: required")
            try:
                models[name] = parse_model(raw, name, query.tenant, self.securities)
            except InvalidInputError as exc:
                raise InvalidInputError(f"models[{i}].{exc.message}") from None
            model_writes.append(ModelWrite(name=name, document=raw))
        book = parse_book(data, models)
        raw_households = data.get("households", [data])
        households: list[HouseholdWrite] = []
        accounts: list[AccountWrite] = []
        for i, (raw, (household, states)) in enumerate(zip(raw_households, book, strict=True)):
            if raw.get("tenant") is not None and household.tenant != query.tenant:
                where = f"households[{i}]." if "households" in data else "household."
                raise InvalidInputError(
                    f"{where}tenant: {household.tenant!r} is not the caller's tenant {query.tenant!r}"
                )
            document = {"tax_profile": raw.get("tax_profile") or {}}
            households.append(HouseholdWrite(household_id=household.household_id, document=document))
            for raw_account, state in zip(raw["accounts"], states, strict=True):
                document = {k: v for k, v in raw_account.items() if k != "tenant"}
                document["household_id"] = household.household_id
                accounts.append(AccountWrite(account_id=state.account.account_id, document=document))
        if query.mode == "replace":
            listed = {w.account_id for w in accounts}
            for state in sorted(await store.tenant_accounts(query.tenant), key=lambda s: s.account.account_id):
                if state.account.account_id not in listed:
                    accounts.append(AccountWrite(account_id=state.account.account_id))
            named = {w.household_id for w in households}
            for household in sorted(await store.tenant_households(query.tenant), key=lambda h: h.household_id):
                if household.household_id not in named:
                    households.append(HouseholdWrite(household_id=household.household_id))
        return PutAccounts(
            request_id=query.request_id,
            tenant=query.tenant,
            accounts=accounts,
            households=households,
            models=model_writes,
            dry_run=query.dry_run,
        )

    async def file_differs(self, path: Path) -> list[str]:
        """The accounts a household file would add or change in the book now (a merge's preview), per tenant
        of its households: at a restart, a changed ``HOUSEHOLD_FILE`` is said, never silently ignored."""
        data = json.loads(path.read_text(encoding="utf-8"))
        households = data["households"] if isinstance(data, dict) and "households" in data else [data]
        tenants = sorted({str(h.get("tenant", "default")) for h in households if isinstance(h, dict)})
        differing: list[str] = []
        for tenant in tenants:
            mine = [h for h in households if isinstance(h, dict) and str(h.get("tenant", "default")) == tenant]
            query = LoadBook(
                request_id="startup-check", tenant=tenant, book={"households": mine}, mode="merge", dry_run=True
            )
            try:
                reply = await self.put(await self._book_request(query))
            except InvalidInputError as exc:
                return [f"(the file: {exc.message})"]
            differing += [c.id for c in reply.changes if c.kind == "account" and c.change != "unchanged"]
        return differing

    # ---- outside transactions -----------------------------------------------------------------------------
    async def record_transaction(self, body: bytes) -> TransactionRecorded:
        query = decode_as(body, RecordTransaction)
        if not _KEY_ID.fullmatch(query.account_id):
            raise NotFoundError(f"unknown account {query.account_id!r}")
        if not _KEY_ID.fullmatch(query.client_transaction_id):
            raise InvalidInputError("client_transaction_id: 1 to 128 letters, digits, '-' or '_'")
        check_transaction(query, today=self.runtime.clock.now().date(), securities=self.securities)
        store = await self.store()
        state, _ = await store.read_account(query.account_id)
        if state is None or state.account.tenant != query.tenant:
            raise NotFoundError(f"unknown account {query.account_id!r}")
        household = await store.household_accounts(state.account.household_id)
        derived = account_ledger_lots(self._ledger(household), query.account_id)
        outcome: list[Any] = []

        def change(current: AccountState) -> AccountState | None:
            result = record_outside(current, query, derived=derived)
            if not result.already_recorded:  # the household's history must still replay with it
                others = [s for s in household if s.account.account_id != query.account_id]
                self._ledger([*others, result.state])
            outcome[:] = [result]
            return None if result.already_recorded else result.state

        before, after = await store.change_account(query.account_id, change)
        result = outcome[0]
        _, revision = await store.read_account(query.account_id)
        account = (after or before).account
        log.info("outside transaction recorded", type=query.type, already=result.already_recorded)
        return TransactionRecorded(
            account_id=query.account_id,
            client_transaction_id=query.client_transaction_id,
            type=query.type,
            cash_after=account.cash,
            revision=revision,
            already_recorded=result.already_recorded,
            lots=list(result.lots),
            realized_gain=result.realized_gain,
        )

    def _ledger(self, household: list[AccountState]) -> Any:
        try:
            return household_ledger(household, self.securities)
        except TransactionError as exc:
            raise DomainError(f"the household's history cannot be replayed with it: {exc}") from None
