"""An import checked against the book as it is now, and what it would change: pure (the caller reads the
book; nothing here does I/O).

What an import means for an account: its lots and (when the file has cash rows) its cash become the
account's new starting position as of the import. When the lots differ from the stored positions, the fills
recorded before it no longer count in its ledger (``history_archived``); a run in progress on the account
refuses the import."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from contracts import AccountSnapshot, Lot
from contracts.imports import AccountChange, ImportedAccount, ImportedLot, LotChange

__all__ = ["BookView", "ImportReview", "review_import"]


@dataclass(frozen=True, slots=True)
class BookView:
    """What the book holds now for the accounts and households an import names.

    ``accounts``: each named account's snapshot (its lots as the ledger derives them), ``None`` if it does
    not exist. ``households``: each named household's tenant, ``None`` if it does not exist.
    ``running``: the run in progress on an account, by account id. ``symbols``: the securities the system
    knows."""

    accounts: Mapping[str, AccountSnapshot | None]
    households: Mapping[str, str | None]
    symbols: Collection[str]
    running: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportReview:
    errors: list[str]
    changes: list[AccountChange]


def _view(lot: ImportedLot) -> LotChange:
    return LotChange(
        lot_id=lot.lot_id, symbol=lot.symbol, shares=lot.shares, cost_basis=lot.cost_basis, acquired=lot.acquired
    )


def _held(lot: Lot) -> LotChange:
    return LotChange(
        lot_id=lot.lot_id, symbol=lot.symbol, shares=lot.shares, cost_basis=lot.cost_basis, acquired=lot.acquired
    )


def _lot_changes(
    imported: list[ImportedLot], held: list[Lot]
) -> tuple[list[LotChange], list[LotChange], list[LotChange], int]:
    """Added, removed, changed (same id, other symbol, shares, cost or date) and the number unchanged."""
    before = {lot.lot_id: lot for lot in held}
    after_ids = {lot.lot_id for lot in imported}
    added, changed, same = [], [], 0
    for lot in imported:
        old = before.get(lot.lot_id)
        if old is None:
            added.append(_view(lot))
        elif (old.symbol, old.shares, old.cost_basis, old.acquired) == (
            lot.symbol,
            lot.shares,
            lot.cost_basis,
            lot.acquired,
        ):
            same += 1
        else:
            changed.append(
                LotChange(
                    lot_id=lot.lot_id,
                    symbol=lot.symbol,
                    shares=lot.shares,
                    cost_basis=lot.cost_basis,
                    acquired=lot.acquired,
                    before_shares=old.shares,
                    before_cost_basis=old.cost_basis,
                    before_acquired=old.acquired,
                )
            )
    removed = [_held(lot) for lot in held if lot.lot_id not in after_ids]
    return added, removed, changed, same


def review_import(
    accounts: list[ImportedAccount], tenant: str, book: BookView, default_household: str | None = None
) -> ImportReview:
    """Every problem of the import against ``book`` (each with its line), and each account's change.

    An account the file does not place stays in its household; a new one goes to ``default_household``."""
    errors: list[tuple[int, str]] = []
    changes: list[AccountChange] = []
    for account in accounts:
        line, account_id = account.line, account.account_id
        current = book.accounts.get(account_id)
        if current is not None and current.tenant != tenant:
            errors.append((line, f"account_id: {account_id!r} is taken by another book; choose another id"))
            continue
        household = account.household_id or (current.household_id if current else default_household)
        if household is None:
            errors.append((line, f"household_id: account {account_id} is new: name its household"))
            continue
        if current is not None and household != current.household_id:
            errors.append(
                (line, f"household_id: account {account_id} is in household {current.household_id}, not {household} "
                 "(an import does not move accounts between households)")
            )  # fmt: skip
            continue
        owner = book.households.get(household)
        if owner is not None and owner != tenant:
            errors.append((line, f"household_id: {household!r} is taken by another book; choose another id"))
            continue
        if account_id in book.running:
            errors.append(
                (line, f"account {account_id}: run {book.running[account_id]} is in progress; import after it ends")
            )
        if current is not None and account.account_type is not None and account.account_type != current.account_type:
            errors.append(
                (line, f"account_type: account {account_id} is {current.account_type}, the file says "
                 f"{account.account_type} (change it with PUT /api/accounts/{account_id})")
            )  # fmt: skip
        for lot in account.lots:
            if lot.symbol not in book.symbols:
                errors.append((lot.line, f"symbol: {lot.symbol!r} is not a security the system knows"))
        added, removed, changed, same = _lot_changes(account.lots, current.lots if current else [])
        cash_before = current.cash if current is not None else Decimal(0)
        changes.append(
            AccountChange(
                account_id=account_id,
                household_id=household,
                new_account=current is None,
                new_household=owner is None,
                lots_added=added,
                lots_removed=removed,
                lots_changed=changed,
                lots_unchanged=same,
                cash_before=cash_before,
                cash_after=account.cash if account.cash is not None else cash_before,
                history_archived=current is not None and bool(added or removed or changed),
            )
        )
    return ImportReview(errors=[f"line {n}: {m}" for n, m in sorted(set(errors))], changes=changes)
