"""What the portfolio service stores: accounts (with their history) and households."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec

from contracts import AccountSnapshot, Lot, TaxProfile, Transaction, Value

__all__ = [
    "AccountState",
    "CashMovement",
    "HouseholdState",
    "ModelSecurity",
    "ModelState",
    "account_key",
    "household_key",
    "model_key",
    "request_key",
]


def account_key(account_id: str) -> str:
    return f"account.{account_id}"


def household_key(household_id: str) -> str:
    return f"household.{household_id}"


def model_key(tenant: str, name: str) -> str:
    """A tenant's model (each tenant names its own models)."""
    return f"model.{tenant}.{name}"


def request_key(request_id: str) -> str:
    """The record of a book write (its idempotency)."""
    return f"request.{request_id}"


class CashMovement(Value, frozen=True, kw_only=True):
    """A deposit (positive ``amount``) or a withdrawal (negative) recorded from outside the system."""

    date: date
    amount: Decimal
    client_transaction_id: str


class AccountState(Value, frozen=True, kw_only=True):
    """An account as stored: the snapshot (its lots are the positions: ids and shares; basis adjustments
    are derived, see :mod:`.household_ledger`), the lots it started with, its transaction history (every
    executed fill) and the runs already applied."""

    account: AccountSnapshot
    custom_target: dict[str, str] | None = None
    transactions: list[Transaction] = msgspec.field(default_factory=list)
    initial_lots: list[Lot] = msgspec.field(default_factory=list)
    applied_runs: list[str] = msgspec.field(default_factory=list)
    client_transactions: list[str] = msgspec.field(default_factory=list)
    """The client transaction ids of outside transactions already recorded (their idempotency)."""
    cash_movements: list[CashMovement] = msgspec.field(default_factory=list)
    archived_transactions: list[Transaction] = msgspec.field(default_factory=list)
    """The history before the account's lots were replaced by a book write (kept for the wash-sale window of
    the tax review; no longer replayed: the new lots are the account's starting point)."""


class HouseholdState(Value, frozen=True, kw_only=True):
    household_id: str
    tax_profile: TaxProfile
    account_ids: list[str]
    loaded_on: date | None = None
    tenant: str = "default"


class ModelSecurity(Value, frozen=True, kw_only=True):
    symbol: str
    percent: Decimal
    substitutes: list[str] = msgspec.field(default_factory=list)


class ModelState(Value, frozen=True, kw_only=True):
    """A named model: asset-class targets (percent, summing to 100) and security-level targets."""

    name: str
    tenant: str = "default"
    targets: dict[str, Decimal]
    securities: list[ModelSecurity] = msgspec.field(default_factory=list)
