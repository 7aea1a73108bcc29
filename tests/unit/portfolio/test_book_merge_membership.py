"""A household merge that does not list ``account_ids`` asserts no membership: an import sends the same request
whether its households exist or not (``{"document": {}, "merge": true}``), so a retried import is the same
request (the same fingerprint) and a new account still joins its existing household."""

from __future__ import annotations

from contracts.book import AccountWrite, HouseholdWrite, PutAccounts
from services.portfolio.domain import load_household
from services.portfolio.domain.book_writes import Current, plan_writes
from services.portfolio.domain.state import HouseholdState
from shared.securities import default_securities


def test_an_empty_household_merge_lets_a_new_account_join() -> None:
    household, accounts = load_household()
    current = Current(
        accounts={a.account.account_id: (a, 5) for a in accounts},
        households={household.household_id: (household, 3)},
        models={},
    )
    document = {"household_id": "demo-household", "lots": [], "cash": "10"}
    request = PutAccounts(
        request_id="import-1",
        accounts=[AccountWrite(account_id="imported", document=document, merge=True)],
        households=[HouseholdWrite(household_id="demo-household", document={}, merge=True)],
    )
    plan = plan_writes(request, current, default_securities())
    assert plan.outcome == "applied", plan.problems
    written = {w.key: w.value for w in plan.writes}["household.demo-household"]
    assert isinstance(written, HouseholdState)
    assert written.account_ids == [*household.account_ids, "imported"]


def test_a_household_merge_that_lists_accounts_is_still_checked() -> None:
    household, accounts = load_household()
    current = Current(
        accounts={a.account.account_id: (a, 5) for a in accounts},
        households={household.household_id: (household, 3)},
        models={},
    )
    request = PutAccounts(
        request_id="r",
        households=[HouseholdWrite(household_id="demo-household", document={"account_ids": ["demo"]}, merge=True)],
    )
    assert plan_writes(request, current, default_securities()).outcome != "applied"
