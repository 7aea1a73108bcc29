"""Plan a book write (:class:`contracts.book.PutAccounts`): pure, all or nothing.

Given the request and the objects it touches as stored (with their revisions), :func:`plan_writes` says
either what is wrong (every problem with its field path, unknown objects, stale revisions) or the exact
writes to make, in a safe order, and what changes. Nothing is written unless everything is valid.

Rules:

* An account joins the household its document names (which must exist, or be written by the same request)
  and leaves the one it was in; its snapshot carries the household's tax profile and tenant. So an account
  added by the API is part of its household's wash-sale checks like any other.
* Replacing an account's lots (a document whose lots differ from the stored positions) makes the new lots
  the account's starting point: its recorded history is archived (still in the tax review's wash-sale
  window, no longer replayed). The same lots keep the history, the applied runs and the do-not-buy list.
* A household changes its tax profile for all its accounts; its ``account_ids``, when given, must list its
  accounts (membership changes through each account's ``household_id``); only an empty household is deleted.
* Another tenant's object does not exist for the request; built-in models cannot be written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from contracts import Lot, Value
from contracts.book import (
    AccountWrite,
    BookChange,
    BookObjectKind,
    BookOutcome,
    FieldProblem,
    HouseholdWrite,
    ModelWrite,
    PutAccounts,
    StaleWrite,
)
from services.portfolio.domain.documents import (
    account_document,
    household_document,
    model_document,
    parse_model,
    snake_keys,
)
from services.portfolio.domain.household import identifier, parse_account, parse_profile, parse_tenant
from services.portfolio.domain.models import MODELS
from services.portfolio.domain.state import (
    AccountState,
    HouseholdState,
    ModelState,
    account_key,
    household_key,
    model_key,
)
from shared.errors import InvalidInputError
from shared.securities import SecurityMaster

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MODEL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
ChangeKind = Literal["added", "removed", "changed", "unchanged"]

__all__ = ["BookPlan", "Current", "Write", "merged_account", "plan_writes"]

Stored = tuple[Any, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Current:
    """The stored objects the request touches, each with its revision (``(None, 0)``: absent). ``models``: every
    stored model of the request's tenant."""

    accounts: Mapping[str, tuple[AccountState | None, int]]
    households: Mapping[str, tuple[HouseholdState | None, int]]
    models: Mapping[str, tuple[ModelState | None, int]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Write:
    """Write ``value`` at ``key`` (``None``: delete) if the key is still at ``revision`` (0: absent)."""

    kind: BookObjectKind
    id: str
    key: str
    value: Value | None
    revision: int


@dataclass(slots=True, kw_only=True)
class BookPlan:
    outcome: BookOutcome
    problems: list[FieldProblem] = field(default_factory=list)
    stale: list[StaleWrite] = field(default_factory=list)
    changes: list[BookChange] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)


def _problem(exc: InvalidInputError, where: str) -> FieldProblem:
    """``accounts[0]`` + ``accounts[0].lots[2].shares: must be positive`` as a path and a message."""
    text = exc.message
    path, sep, message = text.partition(": ")
    if not sep:
        return FieldProblem(path=where, message=text)
    if where and not path.startswith(where):
        path = f"{where}.{path}" if path else where
    return FieldProblem(path=path, message=message)


def _lots_key(lots: list[Lot]) -> list[tuple[object, ...]]:
    return sorted(
        (
            lot.lot_id,
            lot.symbol,
            lot.shares,
            lot.cost_basis - lot.wash_sale_adjustment,
            lot.acquired,
            lot.holding_period_start,
        )
        for lot in lots
    )


def merged_account(current: AccountState | None, parsed: AccountState) -> AccountState:
    """The stored account after a write of ``parsed`` (see the module's rules on lots and history)."""
    if current is None:
        return parsed
    same_lots = _lots_key(current.account.lots) == _lots_key(parsed.account.lots)
    account = msgspec.structs.replace(
        parsed.account,
        lots=current.account.lots if same_lots else parsed.account.lots,
        do_not_buy=current.account.do_not_buy,
        revision=current.account.revision + 1,
    )
    if same_lots:
        return msgspec.structs.replace(current, account=account, custom_target=parsed.custom_target)
    return msgspec.structs.replace(
        current,
        account=account,
        custom_target=parsed.custom_target,
        initial_lots=list(parsed.account.lots),
        transactions=[],
        archived_transactions=[*current.archived_transactions, *current.transactions],
    )


def _fields_changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in {*before, *after} if before.get(k) != after.get(k))


class _Planner:
    def __init__(self, request: PutAccounts, current: Current, securities: SecurityMaster) -> None:
        self.request = request
        self.tenant = request.tenant
        self.current = current
        self.securities = securities
        self.problems: list[FieldProblem] = []
        self.not_found: list[FieldProblem] = []
        self.refused: list[FieldProblem] = []
        self.stale: list[StaleWrite] = []
        self.models: dict[str, ModelState] = {
            name: model for name, (model, _) in current.models.items() if model is not None
        }
        self.households: dict[str, HouseholdState | None] = {}
        self.accounts: dict[str, AccountState | None] = {}
        self.written_households: set[str] = set()
        self.written_models: list[str] = []
        self.explicit_members: dict[str, tuple[str, list[str]]] = {}

    # ---- lookups (another tenant's object is absent) ------------------------------------------------
    def household(self, household_id: str) -> HouseholdState | None:
        if household_id in self.households:
            return self.households[household_id]
        stored, _ = self.current.households.get(household_id, (None, 0))
        return stored if stored is not None and stored.tenant == self.tenant else None

    def stored_account(self, account_id: str) -> AccountState | None:
        stored, _ = self.current.accounts.get(account_id, (None, 0))
        return stored if stored is not None and stored.account.tenant == self.tenant else None

    def account(self, account_id: str) -> AccountState | None:
        if account_id in self.accounts:
            return self.accounts[account_id]
        return self.stored_account(account_id)

    def check_revision(
        self, kind: BookObjectKind, id_: str, expected: int | None, stored: object, revision: int
    ) -> None:
        actual = revision if stored is not None else 0
        if expected is not None and expected != actual:
            self.stale.append(StaleWrite(kind=kind, id=id_, expected_revision=expected, revision=actual))

    # ---- models ---------------------------------------------------------------------------------------
    def model(self, i: int, write: ModelWrite) -> None:
        where = f"models[{i}]"
        if not _MODEL_NAME.fullmatch(write.name):
            self.problems.append(FieldProblem(path=f"{where}.name", message="1 to 64 letters, digits, '-' or '_'"))
            return
        if write.name in MODELS:
            self.refused.append(FieldProblem(path=f"{where}.name", message=f"{write.name!r} is a built-in model"))
            return
        stored, revision = self.current.models.get(write.name, (None, 0))
        self.check_revision("model", write.name, write.expected_revision, stored, revision)
        if write.document is None:
            self.problems.append(FieldProblem(path=f"{where}.document", message="a model cannot be deleted"))
            return
        try:
            model = parse_model(snake_keys(write.document), write.name, self.tenant, self.securities)
        except InvalidInputError as exc:
            self.problems.append(_problem(exc, where))
            return
        self.models[write.name] = model
        self.written_models.append(write.name)

    # ---- households -----------------------------------------------------------------------------------
    def household_write(self, i: int, write: HouseholdWrite) -> None:
        where = f"households[{i}]"
        if not _ID.fullmatch(write.household_id):
            message = "1 to 128 letters, digits, '-' or '_'"
            self.problems.append(FieldProblem(path=f"{where}.household_id", message=message))
            return
        stored, revision = self.current.households.get(write.household_id, (None, 0))
        mine = stored if stored is not None and stored.tenant == self.tenant else None
        if stored is not None and mine is None:
            self.not_found.append(FieldProblem(path=where, message=f"unknown household {write.household_id!r}"))
            return
        self.check_revision("household", write.household_id, write.expected_revision, mine, revision)
        if write.document is None:
            if mine is None:
                self.not_found.append(FieldProblem(path=where, message=f"unknown household {write.household_id!r}"))
                return
            self.households[write.household_id] = None
            self.written_households.add(write.household_id)
            return
        try:
            doc = snake_keys(write.document, where)
            if write.merge and mine is not None:  # membership is asserted only when the document lists it
                doc = {**household_document(mine), "account_ids": None, **doc}
            if doc.setdefault("household_id", write.household_id) != write.household_id:
                raise InvalidInputError(f"{where}.household_id: {doc['household_id']!r} is not {write.household_id!r}")
            identifier(doc, "household_id", where)
            self._check_tenant(doc, where)
            profile = parse_profile(doc.get("tax_profile"))
        except InvalidInputError as exc:
            self.problems.append(_problem(exc, where))
            return
        if doc.get("account_ids") is not None:
            listed = doc["account_ids"]
            if not isinstance(listed, list) or not all(isinstance(a, str) for a in listed):
                self.problems.append(
                    FieldProblem(path=f"{where}.account_ids", message="expected a list of account ids")
                )
                return
            self.explicit_members[write.household_id] = (where, list(listed))
        self.households[write.household_id] = HouseholdState(
            household_id=write.household_id,
            tax_profile=profile,
            account_ids=list(mine.account_ids) if mine is not None else [],
            loaded_on=mine.loaded_on if mine is not None else None,
            tenant=self.tenant,
        )
        self.written_households.add(write.household_id)

    def _check_tenant(self, doc: dict[str, Any], where: str) -> None:
        if doc.get("tenant") is not None and parse_tenant(doc) != self.tenant:
            raise InvalidInputError(f"{where}.tenant: {doc['tenant']!r} is not the caller's tenant {self.tenant!r}")

    def _membership(self, household_id: str, account_id: str, *, add: bool) -> None:
        household = self.household(household_id)
        if household is None:
            return
        ids = list(household.account_ids)
        if add and account_id not in ids:
            ids.append(account_id)
        if not add and account_id in ids:
            ids.remove(account_id)
        if ids != household.account_ids:
            self.households[household_id] = msgspec.structs.replace(household, account_ids=ids)
            self.written_households.add(household_id)

    # ---- accounts -------------------------------------------------------------------------------------
    def account_write(self, i: int, write: AccountWrite) -> None:
        where = f"accounts[{i}]"
        if not _ID.fullmatch(write.account_id):
            self.problems.append(
                FieldProblem(path=f"{where}.account_id", message="1 to 128 letters, digits, '-' or '_'")
            )
            return
        stored, revision = self.current.accounts.get(write.account_id, (None, 0))
        mine = self.stored_account(write.account_id)
        if stored is not None and mine is None:
            self.not_found.append(FieldProblem(path=where, message=f"unknown account {write.account_id!r}"))
            return
        self.check_revision("account", write.account_id, write.expected_revision, mine, revision)
        if write.document is None:
            if mine is None:
                self.not_found.append(FieldProblem(path=where, message=f"unknown account {write.account_id!r}"))
                return
            self.accounts[write.account_id] = None
            self._membership(mine.account.household_id, write.account_id, add=False)
            return
        try:
            doc = snake_keys(write.document, where)
            if write.merge and mine is not None:
                doc = {**account_document(mine), **doc}
            if doc.setdefault("account_id", write.account_id) != write.account_id:
                raise InvalidInputError(f"{where}.account_id: {doc['account_id']!r} is not {write.account_id!r}")
            household_id = identifier(doc, "household_id", where)
            self._check_tenant(doc, where)
            household = self.household(household_id)
            if household is None:
                raise InvalidInputError(f"{where}.household_id: unknown household {household_id!r}")
            parsed = parse_account(doc, where, household_id, household.tax_profile, self.tenant, self.models)
        except InvalidInputError as exc:
            self.problems.append(_problem(exc, where))
            return
        self.accounts[write.account_id] = merged_account(mine, parsed)
        if mine is not None and mine.account.household_id != household_id:
            self._membership(mine.account.household_id, write.account_id, add=False)
        self._membership(household_id, write.account_id, add=True)

    # ---- after every write: profiles, explicit members, empty deletes ------------------------------------
    def finish(self) -> None:
        for household_id in sorted(self.written_households):
            household = self.households.get(household_id)
            if household is None:
                stored = self.current.households.get(household_id, (None, 0))[0]
                left = [
                    a
                    for a in (stored.account_ids if stored else [])
                    if (state := self.account(a)) is not None and state.account.household_id == household_id
                ]
                if left:
                    self.refused.append(
                        FieldProblem(
                            path=f"households.{household_id}",
                            message=f"the household still has accounts {', '.join(left)}: delete or move them first",
                        )
                    )
                continue
            for account_id in household.account_ids:  # the household's profile and tenant on every account
                state = self.account(account_id)
                if state is None:
                    continue
                account = state.account
                if account.tax_profile != household.tax_profile:
                    self.accounts[account_id] = msgspec.structs.replace(
                        state,
                        account=msgspec.structs.replace(
                            account, tax_profile=household.tax_profile, revision=account.revision + 1
                        ),
                    )
        for household_id, (where, listed) in self.explicit_members.items():
            household = self.households.get(household_id)
            if household is not None and sorted(listed) != sorted(household.account_ids):
                self.problems.append(
                    FieldProblem(
                        path=f"{where}.account_ids",
                        message=f"must list the household's accounts ({', '.join(household.account_ids) or 'none'}): "
                        "an account joins or leaves a household through its own household_id",
                    )
                )
            elif household is not None:
                self.households[household_id] = msgspec.structs.replace(household, account_ids=list(listed))

    # ---- the plan ---------------------------------------------------------------------------------------
    def plan(self, dry_run: bool) -> BookPlan:
        for i, model in enumerate(self.request.models):
            self.model(i, model)
        for i, household in enumerate(self.request.households):
            self.household_write(i, household)
        for i, account in enumerate(self.request.accounts):
            self.account_write(i, account)
        if not (self.problems or self.not_found):
            self.finish()
        if self.not_found:
            return BookPlan(outcome="not-found", problems=self.not_found)
        if self.stale:
            return BookPlan(outcome="stale", stale=self.stale)
        if self.problems:
            return BookPlan(outcome="invalid", problems=self.problems)
        if self.refused:
            return BookPlan(outcome="refused", problems=self.refused)
        changes, writes = self._writes()
        return BookPlan(outcome="preview" if dry_run else "applied", changes=changes, writes=writes)

    def _writes(self) -> tuple[list[BookChange], list[Write]]:
        changes: list[BookChange] = []
        models: list[Write] = []
        puts: list[Write] = []
        households: list[Write] = []
        deletes: list[Write] = []
        household_deletes: list[Write] = []
        for name in self.written_models:
            stored, revision = self.current.models.get(name, (None, 0))
            new = self.models[name]
            before = model_document(stored) if stored else None
            after = model_document(new)
            if before == after:
                changes.append(BookChange(kind="model", id=name, change="unchanged"))
                continue
            changes.append(
                BookChange(
                    kind="model",
                    id=name,
                    change="changed" if before else "added",
                    fields=_fields_changed(before or {}, after),
                )
            )
            models.append(Write(kind="model", id=name, key=model_key(self.tenant, name), value=new, revision=revision))
        for account_id, new_account in self.accounts.items():
            stored_account, revision = self.current.accounts.get(account_id, (None, 0))
            if new_account is None:
                household_id = stored_account.account.household_id if stored_account else ""
                changes.append(BookChange(kind="account", id=account_id, change="removed", household_id=household_id))
                deletes.append(
                    Write(kind="account", id=account_id, key=account_key(account_id), value=None, revision=revision)
                )
                continue
            before = account_document(stored_account) if stored_account else None
            after = account_document(new_account)
            household_id = new_account.account.household_id
            if (
                before == after
                and stored_account is not None
                and stored_account.account.tax_profile == new_account.account.tax_profile
            ):
                changes.append(BookChange(kind="account", id=account_id, change="unchanged", household_id=household_id))
                continue
            change: ChangeKind = "changed" if before else "added"
            fields = _fields_changed(before or {}, after) or ["tax_profile"]
            changes.append(
                BookChange(kind="account", id=account_id, change=change, household_id=household_id, fields=fields)
            )
            puts.append(
                Write(kind="account", id=account_id, key=account_key(account_id), value=new_account, revision=revision)
            )
        for household_id in sorted(self.written_households):
            stored_household, revision = self.current.households.get(household_id, (None, 0))
            new_household = self.households.get(household_id)
            key = household_key(household_id)
            if new_household is None:
                changes.append(
                    BookChange(kind="household", id=household_id, change="removed", household_id=household_id)
                )
                household_deletes.append(
                    Write(kind="household", id=household_id, key=key, value=None, revision=revision)
                )
                continue
            before = household_document(stored_household) if stored_household else None
            after = household_document(new_household)
            if before == after:
                changes.append(
                    BookChange(kind="household", id=household_id, change="unchanged", household_id=household_id)
                )
                continue
            change = "changed" if before else "added"
            fields = _fields_changed(before or {}, after)
            changes.append(
                BookChange(kind="household", id=household_id, change=change, household_id=household_id, fields=fields)
            )
            households.append(Write(kind="household", id=household_id, key=key, value=new_household, revision=revision))
        # Models and accounts first (a household never lists an account that is not stored), then households,
        # then the accounts and households removed (after no household lists them any more).
        return changes, [*models, *puts, *households, *deletes, *household_deletes]


def plan_writes(request: PutAccounts, current: Current, securities: SecurityMaster) -> BookPlan:
    """What ``request`` writes given the ``current`` objects, or why nothing may be written."""
    return _Planner(request, current, securities).plan(request.dry_run)
