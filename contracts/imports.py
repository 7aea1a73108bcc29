"""Custodian import of positions with tax lots (``POST /api/accounts/import``, ``rebalance accounts import``).

The gateway parses the file (:mod:`shared.custodian_import`) into :class:`ImportedAccount` values and asks the
portfolio service, which owns KV ``portfolios``, to check them against the book and apply them
(``portfolio.v1.query.import-accounts``, request-reply). The reply lists every problem (nothing is applied
then) or what changed per account; with ``dry_run`` it says what would change and applies nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import msgspec

from contracts.envelope import Value
from contracts.values import AccountType, Identifier

__all__ = [
    "AccountChange",
    "ImportAccounts",
    "ImportFormat",
    "ImportReply",
    "ImportedAccount",
    "ImportedLot",
    "LotChange",
]

ImportFormat = Literal["generic", "schwab", "ibkr"]


class ImportedLot(Value, frozen=True, kw_only=True):
    """A tax lot read from line ``line`` of the file; ``cost_basis`` is the lot's total."""

    line: int
    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date


class ImportedAccount(Value, frozen=True, kw_only=True):
    """An account's positions as of the import: its lots, and its cash when the file has cash rows (``None``:
    the account keeps its cash). ``household_id`` ``None``: the account keeps its household (a new account
    needs one). ``line``: the account's first line in the file."""

    account_id: str
    line: int
    household_id: str | None = None
    account_type: AccountType | None = None
    lots: list[ImportedLot] = msgspec.field(default_factory=list)
    cash: Decimal | None = None


class ImportAccounts(Value, frozen=True, kw_only=True):
    """Import ``accounts`` for ``tenant`` as their new starting positions (as of ``as_of``).

    ``import_id`` names the import: asked again (a retry, or a redelivery after a crash) it completes the
    same import and changes nothing more."""

    import_id: Identifier
    tenant: str
    as_of: date
    accounts: list[ImportedAccount]
    dry_run: bool = False
    source: str = ""
    """What was imported, for the record (``schwab: lots.csv``)."""


class LotChange(Value, frozen=True, kw_only=True):
    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date
    before_shares: Decimal | None = None
    before_cost_basis: Decimal | None = None
    before_acquired: date | None = None


class AccountChange(Value, frozen=True, kw_only=True):
    """What the import does to one account: lots added, removed (held now, absent from the file) and changed
    (same lot id, other shares, basis or date), lots unchanged (a count), cash before and after."""

    account_id: str
    household_id: str
    new_account: bool = False
    new_household: bool = False
    lots_added: list[LotChange] = msgspec.field(default_factory=list)
    lots_removed: list[LotChange] = msgspec.field(default_factory=list)
    lots_changed: list[LotChange] = msgspec.field(default_factory=list)
    lots_unchanged: int = 0
    cash_before: Decimal = Decimal(0)
    cash_after: Decimal = Decimal(0)
    history_archived: bool = False
    """The lots differ from the account's stored positions, so the import is its new starting position: the
    fills recorded before it are archived (no longer replayed by its ledger)."""


class ImportReply(Value, frozen=True, kw_only=True):
    """``errors`` non-empty: nothing was applied. Else ``applied`` (false for a dry run) and each account's
    change; ``already_applied``: this import id was applied before (the changes are the first answer's)."""

    import_id: str
    dry_run: bool
    applied: bool = False
    already_applied: bool = False
    errors: list[str] = msgspec.field(default_factory=list)
    accounts: list[AccountChange] = msgspec.field(default_factory=list)
