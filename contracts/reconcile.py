"""Reconciliation of the ledger with the broker: queries and answers (core NATS request-reply).

The ledger side is the sum of the accounts mapped to one broker account (``AccountSnapshot.broker_account``;
"" is the account the credentials name). Quantities are shares, cash is dollars, all decimal strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from contracts.values import Value

__all__ = [
    "DEFAULT_BROKER_ACCOUNT",
    "BrokerBookQuery",
    "LedgerBook",
    "PositionDifference",
    "ReconcileQuery",
    "ReconcileReport",
    "broker_account_of",
]


DEFAULT_BROKER_ACCOUNT = "default"
"""The name of the broker account the credentials name (accounts whose ``broker_account`` is "")."""


def broker_account_of(setting: str) -> str:
    """The broker account an account's ``broker_account`` setting names."""
    return setting or DEFAULT_BROKER_ACCOUNT


class BrokerBookQuery(Value, frozen=True, kw_only=True):
    """Ask the portfolio service for the ledger's book of one broker account.

    ``account_id`` names a ledger account (its broker account is used); else ``broker_account``."""

    account_id: str | None = None
    broker_account: str | None = None


class LedgerBook(Value, frozen=True, kw_only=True):
    """The ledger's positions and cash of every account mapped to ``broker_account``."""

    broker_account: str
    account_ids: list[str]
    positions: dict[str, Decimal]
    cash: Decimal


class ReconcileQuery(Value, frozen=True, kw_only=True):
    """Reconcile the broker account of ``account_id`` (every broker account when ``None``);
    ``clear`` lifts a recorded break (a person's decision, named in ``by``)."""

    account_id: str | None = None
    clear: bool = False
    by: str = ""


class PositionDifference(Value, frozen=True, kw_only=True):
    symbol: str
    """A symbol, or ``$CASH`` for the cash balance."""
    ledger: Decimal
    broker: Decimal


class ReconcileReport(Value, frozen=True, kw_only=True):
    """One broker account's reconciliation: ``in_sync`` or the differences; ``blocked`` while a break
    stands (the accounts in ``account_ids`` do not trade until a person clears it)."""

    broker_account: str
    account_ids: list[str]
    in_sync: bool
    differences: list[PositionDifference] = msgspec.field(default_factory=list)
    blocked: bool = False
    checked_at: datetime | None = None
    cleared_by: str = ""
    message: str = ""
