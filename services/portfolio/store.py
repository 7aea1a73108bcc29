"""Accounts and households in the KV bucket ``portfolios`` (owned by this service alone)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from contracts import decode_as, encode
from services.portfolio.domain import AccountState, HouseholdState, account_key, household_key
from services.portfolio.domain.state import ModelState, model_key
from shared.bus import kv as kvops
from shared.bus.read_scope import forget, read_once
from shared.errors import ConflictError, NotFoundError

__all__ = ["PortfolioStore"]


class PortfolioStore:
    def __init__(self, bucket: KeyValue) -> None:
        self.bucket = bucket

    async def account(self, account_id: str) -> AccountState:
        key = account_key(account_id)
        state, _ = await read_once(key, lambda: kvops.read(self.bucket, key, AccountState))
        if state is None:
            raise NotFoundError(f"unknown account {account_id!r}")
        return state

    async def household(self, household_id: str) -> HouseholdState:
        key = household_key(household_id)
        state, _ = await read_once(key, lambda: kvops.read(self.bucket, key, HouseholdState))
        if state is None:
            raise NotFoundError(f"unknown household {household_id!r}")
        return state

    async def household_accounts(self, household_id: str) -> list[AccountState]:
        """Every account of one household (read at once): never more of the book than that."""
        household = await self.household(household_id)
        return list(await asyncio.gather(*(self.account(account_id) for account_id in household.account_ids)))

    async def account_ids(self) -> list[str]:
        """Every account of the book, sorted."""
        keys = await kvops.keys_matching(self.bucket, account_key("*"))
        return sorted(key.removeprefix(account_key("")) for key in keys)

    async def all_accounts(self) -> list[AccountState]:
        """Every account of the store, by id."""
        try:
            keys = await self.bucket.keys()
        except NoKeysError:
            return []
        ids = sorted(key.removeprefix("account.") for key in keys if key.startswith("account."))
        return [await self.account(account_id) for account_id in ids]

    async def seed(self, household: HouseholdState, accounts: list[AccountState]) -> bool:
        """Store a household and its accounts if absent; ``False`` when it was there already."""
        created = await kvops.create(self.bucket, household_key(household.household_id), household)
        await asyncio.gather(
            *(kvops.create(self.bucket, account_key(state.account.account_id), state) for state in accounts)
        )
        return created is not None

    async def change_account(
        self, account_id: str, change: Callable[[AccountState], AccountState | None]
    ) -> tuple[AccountState, AccountState | None]:
        forget(account_key(account_id))
        try:
            return await kvops.update_with_retry(self.bucket, account_key(account_id), AccountState, change)
        except KeyError:
            raise NotFoundError(f"unknown account {account_id!r}") from None

    # ---- the book as a resource (reads with their revisions) ----------------------------------------------
    async def read_account(self, account_id: str) -> tuple[AccountState | None, int]:
        return await kvops.read(self.bucket, account_key(account_id), AccountState)

    async def read_household(self, household_id: str) -> tuple[HouseholdState | None, int]:
        return await kvops.read(self.bucket, household_key(household_id), HouseholdState)

    async def read_model(self, tenant: str, name: str) -> tuple[ModelState | None, int]:
        key = model_key(tenant, name)
        return await read_once(key, lambda: kvops.read(self.bucket, key, ModelState))

    async def tenant_models(self, tenant: str) -> dict[str, tuple[ModelState | None, int]]:
        """Every stored model of ``tenant`` by name, with its revision."""
        prefix = model_key(tenant, "")
        keys = await kvops.keys_matching(self.bucket, model_key(tenant, "*"))
        read = await asyncio.gather(*(kvops.read(self.bucket, key, ModelState) for key in keys))
        return {key.removeprefix(prefix): entry for key, entry in zip(keys, read, strict=True)}

    async def tenant_households(self, tenant: str) -> list[HouseholdState]:
        """Every household of ``tenant`` (households stored before they carried a tenant: by their accounts')."""
        entries = await kvops.live_entries(self.bucket, household_key("*"))
        households = [decode_as(value, HouseholdState) for value in entries.values()]
        return [h for h in households if h.tenant == tenant]

    async def tenant_accounts(self, tenant: str) -> list[AccountState]:
        entries = await kvops.live_entries(self.bucket, account_key("*"))
        states = [decode_as(value, AccountState) for value in entries.values()]
        return [s for s in states if s.account.tenant == tenant]

    async def write(self, key: str, value: object | None, revision: int) -> int:
        """Compare-and-set one key: create when ``revision`` is 0, delete when ``value`` is None; the new
        revision (0 after a delete). :class:`~shared.errors.ConflictError` when the key moved."""
        forget(key)
        if value is None:
            try:
                await self.bucket.delete(key, last=revision or None)
            except Exception as exc:
                raise _conflict(key, exc) from None
            return 0
        if revision == 0:
            created = await kvops.create(self.bucket, key, value)
            if created is None:
                raise ConflictError(f"{key} exists already")
            return created
        return await kvops.update(self.bucket, key, value, revision)

    async def overwrite(self, key: str, value: object | None) -> int:
        """Write (or delete) ``key`` whatever its revision: rolls a committed book write forward. ``value``: a
        struct, or its encoding (bytes)."""
        forget(key)
        if value is None:
            await self.bucket.delete(key)
            return 0
        return int(await self.bucket.put(key, value if isinstance(value, bytes) else encode(value)))


def _conflict(key: str, exc: Exception) -> ConflictError:
    return ConflictError(f"{key} changed ({type(exc).__name__}: {exc})")
