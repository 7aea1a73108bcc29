"""An import against the book as it is: every problem with its line, and each account's change."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts import AccountSnapshot, Lot
from contracts.imports import ImportedAccount, ImportedLot
from shared.custodian_import.review import BookView, review_import

SYMBOLS = frozenset({"VTI", "BND", "VEA"})
ANY_DAY = date(2020, 1, 2)


def _lot(line: int, lot_id: str, symbol: str, shares: str, cost: str, acquired: date) -> ImportedLot:
    return ImportedLot(line=line, lot_id=lot_id, symbol=symbol, shares=Decimal(shares), cost_basis=Decimal(cost),
                       acquired=acquired)  # fmt: skip


HELD = AccountSnapshot(
    account_id="a1",
    household_id="h1",
    cash=Decimal("100.00"),
    tenant="acme",
    lots=[
        Lot(lot_id="keep", symbol="VTI", shares=Decimal(10), cost_basis=Decimal("2000"), acquired=date(2020, 1, 2)),
        Lot(lot_id="grow", symbol="BND", shares=Decimal(5), cost_basis=Decimal("400"), acquired=date(2021, 1, 4)),
        Lot(lot_id="gone", symbol="VEA", shares=Decimal(7), cost_basis=Decimal("300"), acquired=date(2022, 2, 1)),
    ],
)


def test_changes_of_an_existing_account_and_a_new_one() -> None:
    existing = ImportedAccount(
        account_id="a1",
        line=2,
        lots=[
            _lot(2, "keep", "VTI", "10", "2000.00", date(2020, 1, 2)),
            _lot(3, "grow", "BND", "6", "480", date(2021, 1, 4)),
            _lot(4, "VEA-20240102-1", "VEA", "3", "150", date(2024, 1, 2)),
        ],
        cash=Decimal("55.10"),
    )
    new = ImportedAccount(
        account_id="a2", line=5, household_id="h2", lots=[_lot(5, "x", "VTI", "1", "1", date(2020, 1, 2))]
    )
    book = BookView(accounts={"a1": HELD, "a2": None}, households={"h1": "acme", "h2": None}, symbols=SYMBOLS)
    review = review_import([existing, new], "acme", book)
    assert review.errors == []
    first, second = review.changes
    assert (first.household_id, first.new_account, first.new_household) == ("h1", False, False)
    assert [lot.lot_id for lot in first.lots_added] == ["VEA-20240102-1"]
    assert [lot.lot_id for lot in first.lots_removed] == ["gone"]
    (changed,) = first.lots_changed
    assert (changed.lot_id, changed.before_shares, changed.shares, changed.before_cost_basis) == ("grow", 5, 6, 400)
    assert first.lots_unchanged == 1  # 2000.00 and 2000 are the same cost
    assert (first.cash_before, first.cash_after, first.history_archived) == (Decimal("100.00"), Decimal("55.10"), True)
    assert (second.new_account, second.new_household, second.cash_after) == (True, True, Decimal(0))
    assert not second.history_archived  # nothing to archive


def test_the_same_lots_keep_the_history() -> None:
    same = [_lot(2 + i, lot.lot_id, lot.symbol, str(lot.shares), str(lot.cost_basis), lot.acquired)
            for i, lot in enumerate(HELD.lots)]  # fmt: skip
    imported = ImportedAccount(account_id="a1", line=2, lots=same, cash=Decimal(7))
    book = BookView(accounts={"a1": HELD}, households={"h1": "acme"}, symbols=SYMBOLS)
    (change,) = review_import([imported], "acme", book).changes
    assert (change.lots_unchanged, change.history_archived, change.cash_after) == (3, False, Decimal(7))


def test_the_default_household_places_only_new_accounts() -> None:
    accounts = [ImportedAccount(account_id="a1", line=2), ImportedAccount(account_id="a9", line=3)]
    book = BookView(accounts={"a1": HELD, "a9": None}, households={"h1": "acme", "h7": "acme"}, symbols=SYMBOLS)
    review = review_import(accounts, "acme", book, default_household="h7")
    assert review.errors == []
    assert [(c.account_id, c.household_id, c.new_household) for c in review.changes] == [
        ("a1", "h1", False),
        ("a9", "h7", False),
    ]


def test_an_account_without_cash_rows_keeps_its_cash() -> None:
    imported = ImportedAccount(account_id="a1", line=2, lots=[])
    book = BookView(accounts={"a1": HELD}, households={"h1": "acme"}, symbols=SYMBOLS)
    (change,) = review_import([imported], "acme", book).changes
    assert change.cash_after == change.cash_before == Decimal("100.00")
    assert len(change.lots_removed) == 3


def test_every_problem_is_named_with_its_line() -> None:
    accounts = [
        ImportedAccount(account_id="a1", line=2, household_id="h9", lots=[]),  # another household
        ImportedAccount(account_id="theirs", line=3, household_id="h1", lots=[]),  # another tenant's account
        ImportedAccount(account_id="a3", line=4, lots=[]),  # new, no household
        ImportedAccount(account_id="a4", line=5, household_id="their-house", lots=[]),
        ImportedAccount(account_id="a5", line=6, household_id="h1", lots=[_lot(7, "z", "ZZZZ", "1", "1", ANY_DAY)]),
        ImportedAccount(account_id="busy", line=8, household_id="h1", account_type="roth_ira", lots=[]),
    ]
    other = AccountSnapshot(account_id="theirs", household_id="x", tenant="other")
    busy = AccountSnapshot(account_id="busy", household_id="h1", tenant="acme", account_type="taxable")
    book = BookView(
        accounts={"a1": HELD, "theirs": other, "a3": None, "a4": None, "a5": None, "busy": busy},
        households={"h1": "acme", "h9": "acme", "their-house": "other"},
        symbols=SYMBOLS,
        running={"busy": "run-7"},
    )
    assert review_import(accounts, "acme", book).errors == [
        "line 2: household_id: account a1 is in household h1, not h9 "
        "(an import does not move accounts between households)",
        "line 3: account_id: 'theirs' is taken by another book; choose another id",
        "line 4: household_id: account a3 is new: name its household",
        "line 5: household_id: 'their-house' is taken by another book; choose another id",
        "line 7: symbol: 'ZZZZ' is not a security the system knows",
        "line 8: account busy: run run-7 is in progress; import after it ends",
        "line 8: account_type: account busy is taxable, the file says roth_ira (change it with PUT /api/accounts/busy)",
    ]
