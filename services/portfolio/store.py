"""Accounts and households in the KV bucket ``portfolios`` (owned by this service alone)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from services.portfolio.domain import AccountState, HouseholdState, account_key, household_key
from shared.bus import kv as kvops
from shared.errors import NotFoundError

__all__ = ["PortfolioStore"]


class PortfolioStore:
    def __init__(self, bucket: KeyValue) -> None:
        self.bucket = bucket

    async def account(self, account_id: str) -> AccountState:
        state, _ = await kvops.read(self.bucket, account_key(account_id), AccountState)
        if state is None:
            raise NotFoundError(f"unknown account {account_id!r}")
        return state

    async def household(self, household_id: str) -> HouseholdState:
        state, _ = await kvops.read(self.bucket, household_key(household_id), HouseholdState)
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
        try:
            return await kvops.update_with_retry(self.bucket, account_key(account_id), AccountState, change)
        except KeyError:
            raise NotFoundError(f"unknown account {account_id!r}") from None
