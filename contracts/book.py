"""The book as a resource: read and write accounts, households and models through the portfolio service.

The portfolio service alone writes its bucket ``portfolios``; everyone else (the gateway, the CLI through
the gateway, a custodian import) asks it over request-reply:

* ``portfolio.v1.query.book-object`` (:class:`BookObjectQuery` -> :class:`BookObject`): one account,
  household or model as a document of the household file (snake_case) with its revision.
* ``portfolio.v1.query.put-accounts`` (:class:`PutAccounts` -> :class:`PutAccountsReply`): create, replace,
  merge or delete many accounts, households and models at once. Everything is validated first (each
  problem names its field: ``accounts[3].lots[2].shares: must be positive``) and compare-and-set checked;
  nothing is written unless everything is valid. Idempotent by ``request_id``.
* ``portfolio.v1.query.load-book`` (:class:`LoadBook` -> :class:`PutAccountsReply`): a household file (or a
  book of households) applied with ``replace`` or ``merge``.
* ``portfolio.v1.query.record-transaction`` (:class:`RecordTransaction` -> :class:`TransactionRecorded`): an
  outside trade, a deposit or a withdrawal; idempotent by ``client_transaction_id``.

Documents are JSON objects (``dict``) in the household file's format: amounts may be numbers or decimal
strings there; every answer writes them as decimal strings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

import msgspec

from contracts.envelope import Value

__all__ = [
    "AccountWrite",
    "BookChange",
    "BookObject",
    "BookObjectKind",
    "BookObjectQuery",
    "BookOutcome",
    "FieldProblem",
    "HouseholdWrite",
    "LoadBook",
    "ModelWrite",
    "PutAccounts",
    "PutAccountsReply",
    "RecordTransaction",
    "StaleWrite",
    "TransactionRecorded",
    "TransactionType",
]

BookObjectKind = Literal["account", "household", "model"]
BookOutcome = Literal["applied", "preview", "invalid", "stale", "not-found", "refused"]
"""``applied``: written (or already written under this ``request_id``); ``preview``: a dry run, nothing
written; ``invalid``: ``problems`` name the fields (HTTP 422); ``stale``: a revision did not match
(``stale``, HTTP 412); ``not-found``: an object to change or delete does not exist for the tenant (404);
``refused``: the rules forbid it (a built-in model, a request id reused for another request: 409)."""
TransactionType = Literal["buy", "sell", "deposit", "withdrawal"]


class BookObjectQuery(Value, frozen=True, kw_only=True):
    kind: BookObjectKind
    id: str
    tenant: str = "default"
    """The caller's tenant: another tenant's object does not exist for it (404)."""


class BookObject(Value, frozen=True, kw_only=True):
    kind: BookObjectKind
    id: str
    revision: int
    """The KV revision of the object (the HTTP ETag); 0 for a built-in model."""
    document: dict[str, Any]


class AccountWrite(Value, frozen=True, kw_only=True):
    """One account to write. ``document``: an account object of the household file with ``household_id``
    (snake_case or camelCase keys); ``None`` deletes the account. ``merge``: the document's fields over the
    stored account's (e.g. only ``lots`` and ``cash``); else the document is the whole account.
    ``expected_revision``: ``None`` no check; ``0`` the account must not exist; ``n`` it must be at ``n``."""

    account_id: str
    document: dict[str, Any] | None = None
    merge: bool = False
    expected_revision: int | None = None


class HouseholdWrite(Value, frozen=True, kw_only=True):
    """A household: ``tax_profile`` (and optionally ``account_ids``, which must list the household's accounts:
    accounts join and leave a household through their own ``household_id``). ``None`` deletes an empty one."""

    household_id: str
    document: dict[str, Any] | None = None
    merge: bool = False
    expected_revision: int | None = None


class ModelWrite(Value, frozen=True, kw_only=True):
    """A model: ``targets`` (asset class to percent, summing to 100) and ``securities`` (``symbol``,
    ``percent`` of the account, ``substitutes``: symbols bought instead when it cannot be)."""

    name: str
    document: dict[str, Any] | None = None
    expected_revision: int | None = None


class PutAccounts(Value, frozen=True, kw_only=True):
    """Write accounts, households and models at once: all or nothing (see the module's docstring)."""

    request_id: str
    """Idempotency: the same id answers the first reply again (``already_applied``) without writing; the same
    id with another request is refused."""
    tenant: str = "default"
    accounts: list[AccountWrite] = msgspec.field(default_factory=list)
    households: list[HouseholdWrite] = msgspec.field(default_factory=list)
    models: list[ModelWrite] = msgspec.field(default_factory=list)
    dry_run: bool = False


class LoadBook(Value, frozen=True, kw_only=True):
    """A household file (``{"household_id", "accounts": [...]}``) or a book (``{"households": [...]}``, optionally
    ``"models": [...]``). ``replace``: the tenant's book becomes the file (accounts and households not in it
    are removed); ``merge``: the file's accounts and households are added or updated, nothing is removed."""

    request_id: str
    tenant: str = "default"
    book: dict[str, Any]
    mode: Literal["replace", "merge"]
    dry_run: bool = False


class FieldProblem(Value, frozen=True, kw_only=True):
    path: str
    """The field, e.g. ``accounts[0].lots[2].shares`` (``accounts[i]`` is the request's i-th account write)."""
    message: str


class StaleWrite(Value, frozen=True, kw_only=True):
    kind: BookObjectKind
    id: str
    expected_revision: int
    revision: int
    """The object's revision now (0: it does not exist)."""


class BookChange(Value, frozen=True, kw_only=True):
    kind: BookObjectKind
    id: str
    change: Literal["added", "removed", "changed", "unchanged"]
    household_id: str = ""
    fields: list[str] = msgspec.field(default_factory=list)
    """The document's top-level fields that changed."""


class PutAccountsReply(Value, frozen=True, kw_only=True):
    request_id: str
    outcome: BookOutcome
    problems: list[FieldProblem] = msgspec.field(default_factory=list)
    stale: list[StaleWrite] = msgspec.field(default_factory=list)
    changes: list[BookChange] = msgspec.field(default_factory=list)
    revisions: dict[str, int] = msgspec.field(default_factory=dict)
    """The revision of every object written, by ``<kind>.<id>`` (the new ETags)."""
    already_applied: bool = False


class RecordTransaction(Value, frozen=True, kw_only=True):
    """An outside trade (``buy``/``sell`` of ``shares`` of ``symbol`` at ``price``, ``fees`` in dollars), a
    ``deposit`` or a ``withdrawal`` (``amount``). A sell relieves lots by the account's lot method; a buy opens
    lot ``ext-<client_transaction_id>`` and enters the household's wash-sale history."""

    account_id: str
    client_transaction_id: str
    type: TransactionType
    date: date
    tenant: str = "default"
    symbol: str = ""
    shares: Decimal | None = None
    price: Decimal | None = None
    fees: Decimal = Decimal(0)
    amount: Decimal | None = None


class TransactionRecorded(Value, frozen=True, kw_only=True):
    account_id: str
    client_transaction_id: str
    type: TransactionType
    cash_after: Decimal
    revision: int
    already_recorded: bool = False
    lots: list[str] = msgspec.field(default_factory=list)
    """The lot opened (buy) or the lots relieved (sell)."""
    realized_gain: Decimal | None = None
