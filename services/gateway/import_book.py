"""What the book holds now for the accounts and households a custodian import names, read over the bus (the
portfolio service's queries, the coordinator's account locks in KV ``runs``); nothing is written here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from contracts import AccountSnapshot, Lot, RunRecord, Value, subjects
from contracts.book import BookObject, BookObjectQuery
from contracts.imports import ImportedAccount
from contracts.queries import AccountStatusQuery, BookQuery, BookReply
from contracts.runs import account_lock_key, run_key
from shared.bus import kv as kvops
from shared.bus.request import request as ask
from shared.bus.runtime import ServiceRuntime
from shared.custodian_import.review import BookView
from shared.errors import NotFoundError
from shared.securities import default_securities

__all__ = ["read_book_view", "snapshot_of"]

T = TypeVar("T")
_AT_ONCE = 16
_FINISHED = ("completed", "failed", "cancelled")
_OTHER_TENANT = "\x00another tenant"
"""The owner recorded for an account or household the caller's tenant cannot see (it is not its)."""


class _AccountLock(Value, frozen=True, kw_only=True):
    """The coordinator's lock of an account: the run that may trade it."""

    run_id: str


async def _bounded(calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(_AT_ONCE)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))


def snapshot_of(document: dict[str, Any]) -> AccountSnapshot:
    """An account document of the book (household-file format) as the snapshot the review compares with:
    its stored positions, cash, household, type and tenant."""
    lots = [
        Lot(
            lot_id=str(lot["lot_id"]),
            symbol=str(lot["symbol"]),
            shares=Decimal(str(lot["shares"])),
            cost_basis=Decimal(str(lot["cost_basis"])),
            acquired=date.fromisoformat(str(lot["acquired"])),
        )
        for lot in document.get("lots", [])
    ]
    return AccountSnapshot(
        account_id=str(document["account_id"]),
        household_id=str(document["household_id"]),
        tenant=str(document.get("tenant", "default")),
        account_type=document.get("account_type", "taxable"),
        cash=Decimal(str(document.get("cash", "0"))),
        lots=lots,
    )


async def read_book_view(
    runtime: ServiceRuntime, accounts: list[ImportedAccount], tenant: str, default_household: str | None = None
) -> BookView:
    """The accounts (``None``: absent), the households' owners and the runs in progress the import meets."""
    broker = runtime.broker
    runs = await runtime.kv(subjects.KV_RUNS)

    async def account(account_id: str) -> AccountSnapshot | None:
        query = BookObjectQuery(kind="account", id=account_id, tenant=tenant)
        try:
            found = await ask(broker, subjects.PORTFOLIO_QUERY_BOOK_OBJECT, query, BookObject)
        except NotFoundError:
            try:  # another tenant's account is unknown to the caller, but its id is taken
                await ask(broker, subjects.PORTFOLIO_QUERY_ACCOUNTS, AccountStatusQuery(account_id=account_id),
                          AccountSnapshot)  # fmt: skip
            except NotFoundError:
                return None
            return AccountSnapshot(account_id=account_id, household_id="", tenant=_OTHER_TENANT)
        return snapshot_of(found.document)

    async def owner(household_id: str) -> str | None:
        query = BookObjectQuery(kind="household", id=household_id, tenant=tenant)
        try:
            await ask(broker, subjects.PORTFOLIO_QUERY_BOOK_OBJECT, query, BookObject)
            return tenant
        except NotFoundError:
            pass
        try:
            await ask(broker, subjects.PORTFOLIO_QUERY_BOOK, BookQuery(household_id=household_id), BookReply)
        except NotFoundError:
            return None
        return _OTHER_TENANT

    async def running(account_id: str) -> str | None:
        lock, _ = await kvops.read(runs, account_lock_key(account_id), _AccountLock)
        if lock is None:
            return None
        record, _ = await kvops.read(runs, run_key(lock.run_id), RunRecord)
        return lock.run_id if record is not None and record.status not in _FINISHED else None

    ids = [a.account_id for a in accounts]
    snapshots = await _bounded([lambda i=i: account(i) for i in ids])  # type: ignore[misc]
    named = {a.household_id for a in accounts if a.household_id} | ({default_household} if default_household else set())
    households = sorted(named | {s.household_id for s in snapshots if s is not None and s.tenant == tenant})
    owners = await _bounded([lambda h=h: owner(h) for h in households])  # type: ignore[misc]
    locks = await _bounded([lambda i=i: running(i) for i in ids])  # type: ignore[misc]
    return BookView(
        accounts=dict(zip(ids, snapshots, strict=True)),
        households=dict(zip(households, owners, strict=True)),
        symbols=frozenset(default_securities()),
        running={i: run for i, run in zip(ids, locks, strict=True) if run is not None},
    )
