"""What the portfolio service stores: accounts (with their history) and households."""

from __future__ import annotations

from datetime import date

import msgspec

from contracts import AccountSnapshot, Lot, TaxProfile, Transaction, Value

__all__ = ["AccountState", "HouseholdState", "account_key", "household_key"]


def account_key(account_id: str) -> str:
    return f"account.{account_id}"


def household_key(household_id: str) -> str:
    return f"household.{household_id}"


class AccountState(Value, frozen=True, kw_only=True):
    """An account as stored: the snapshot (its lots are the positions: ids and shares; basis adjustments
    are derived, see :mod:`.household_ledger`), the lots it started with, its transaction history (every
    executed fill) and the runs already applied."""

    account: AccountSnapshot
    custom_target: dict[str, str] | None = None
    transactions: list[Transaction] = msgspec.field(default_factory=list)
    initial_lots: list[Lot] = msgspec.field(default_factory=list)
    applied_runs: list[str] = msgspec.field(default_factory=list)


class HouseholdState(Value, frozen=True, kw_only=True):
    household_id: str
    tax_profile: TaxProfile
    account_ids: list[str]
    loaded_on: date | None = None
