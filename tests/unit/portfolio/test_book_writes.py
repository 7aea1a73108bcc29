"""Book writes planned (pure): validation names fields, all or nothing, revisions, membership, lots history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from contracts import Transaction
from contracts.book import AccountWrite, HouseholdWrite, ModelWrite, PutAccounts
from services.portfolio.domain import load_household
from services.portfolio.domain.book_writes import Current, plan_writes
from services.portfolio.domain.documents import account_document, snake_keys
from services.portfolio.domain.state import AccountState, HouseholdState
from shared.securities import default_securities

SECURITIES = default_securities()


def _book() -> tuple[HouseholdState, dict[str, AccountState]]:
    household, accounts = load_household()
    return household, {a.account.account_id: a for a in accounts}


def _current(extra_models: dict[str, Any] | None = None) -> Current:
    household, accounts = _book()
    return Current(
        accounts={k: (v, 5) for k, v in accounts.items()},
        households={household.household_id: (household, 3)},
        models=extra_models or {},
    )


def _new_account(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "accountId": "new-ira",
        "householdId": "demo-household",
        "accountType": "traditional_ira",
        "cash": "1000",
        "lots": [{"lotId": "n1", "symbol": "VTI", "shares": "3", "costBasis": "600", "acquired": "2025-01-02"}],
    }
    doc.update(changes)
    return doc


def test_a_new_account_joins_its_household_and_takes_its_profile() -> None:
    request = PutAccounts(request_id="r1", accounts=[AccountWrite(account_id="new-ira", document=_new_account())])
    plan = plan_writes(request, _current(), SECURITIES)
    assert plan.outcome == "applied"
    by_key = {w.key: w for w in plan.writes}
    household = by_key["household.demo-household"].value
    assert isinstance(household, HouseholdState)
    assert household.account_ids[-1] == "new-ira"
    account = by_key["account.new-ira"].value
    assert isinstance(account, AccountState)
    assert account.account.tax_profile == household.tax_profile
    assert account.initial_lots[0].lot_id == "n1"
    assert [w.key for w in plan.writes] == ["account.new-ira", "household.demo-household"]
    assert by_key["account.new-ira"].revision == 0  # created only if still absent
    assert [(c.kind, c.id, c.change) for c in plan.changes] == [
        ("account", "new-ira", "added"),
        ("household", "demo-household", "changed"),
    ]


def test_every_problem_names_its_field_and_nothing_is_written() -> None:
    bad_lot = _new_account(
        lots=[{"lot_id": "x", "symbol": "VTI", "shares": "-1", "cost_basis": "1", "acquired": "2025-01-02"}]
    )
    request = PutAccounts(
        request_id="r2",
        accounts=[
            AccountWrite(account_id="a-ok", document=_new_account(accountId="a-ok")),
            AccountWrite(account_id="new-ira", document=bad_lot),
            AccountWrite(account_id="b", document={"household_id": "nowhere"}),
        ],
    )
    plan = plan_writes(request, _current(), SECURITIES)
    assert plan.outcome == "invalid"
    assert plan.writes == []
    assert [(p.path, p.message) for p in plan.problems] == [
        ("accounts[1].lots[0].shares", "must be positive, got -1"),
        ("accounts[2].household_id", "unknown household 'nowhere'"),
    ]


def test_revisions_are_compared_and_stale_ones_named() -> None:
    current = _current()
    doc = account_document(current.accounts["demo"][0])  # type: ignore[arg-type]
    stale = PutAccounts(request_id="r3", accounts=[AccountWrite(account_id="demo", document=doc, expected_revision=4)])
    plan = plan_writes(stale, current, SECURITIES)
    assert plan.outcome == "stale"
    assert [(s.id, s.expected_revision, s.revision) for s in plan.stale] == [("demo", 4, 5)]
    create = PutAccounts(request_id="r4", accounts=[AccountWrite(account_id="demo", document=doc, expected_revision=0)])
    assert plan_writes(create, current, SECURITIES).outcome == "stale"
    fresh = PutAccounts(request_id="r5", accounts=[AccountWrite(account_id="demo", document=doc, expected_revision=5)])
    same = plan_writes(fresh, current, SECURITIES)
    assert same.outcome == "applied"
    assert same.writes == []  # a GET's document put back changes nothing
    assert [c.change for c in same.changes] == ["unchanged"]


def test_another_tenants_account_does_not_exist() -> None:
    current = _current()
    request = PutAccounts(request_id="r6", tenant="globex", accounts=[AccountWrite(account_id="demo")])
    plan = plan_writes(request, current, SECURITIES)
    assert plan.outcome == "not-found"


def test_delete_leaves_the_household_and_an_empty_household_only_is_deleted() -> None:
    current = _current()
    household = current.households["demo-household"][0]
    assert household is not None
    others = [a for a in household.account_ids if a != "demo"]
    plan = plan_writes(PutAccounts(request_id="r7", accounts=[AccountWrite(account_id="demo")]), current, SECURITIES)
    assert plan.outcome == "applied"
    written = {w.key: w.value for w in plan.writes}
    assert written["account.demo"] is None
    assert written["household.demo-household"].account_ids == others  # type: ignore[union-attr]
    assert [w.key for w in plan.writes][-1] == "account.demo"  # the household no longer lists it first
    busy = PutAccounts(request_id="r8", households=[HouseholdWrite(household_id="demo-household")])
    assert plan_writes(busy, current, SECURITIES).outcome == "refused"


def test_a_household_profile_reaches_every_account() -> None:
    current = _current()
    request = PutAccounts(
        request_id="r9",
        households=[HouseholdWrite(household_id="demo-household", document={"taxProfile": {"filingStatus": "mfj"}})],
    )
    plan = plan_writes(request, current, SECURITIES)
    assert plan.outcome == "applied"
    accounts = [w.value for w in plan.writes if w.kind == "account"]
    assert accounts and all(a.account.tax_profile.filing_status == "mfj" for a in accounts)  # type: ignore[union-attr]


def test_household_account_ids_must_list_its_accounts() -> None:
    request = PutAccounts(
        request_id="r10",
        households=[HouseholdWrite(household_id="demo-household", document={"account_ids": ["demo"]}, merge=True)],
    )
    plan = plan_writes(request, _current(), SECURITIES)
    assert plan.outcome == "invalid"
    assert plan.problems[0].path == "households[0].account_ids"


def test_new_lots_restart_the_history_and_keep_it_for_the_wash_sale_window() -> None:
    current = _current()
    state = current.accounts["demo"][0]
    assert state is not None
    sold = Transaction(
        account_id="demo",
        account_type="taxable",
        date=date(2026, 1, 5),
        symbol="VTI",
        action="sell",
        shares=Decimal(1),
        price=Decimal(300),
        lot_id="demo-vti-1",
        run_id="run-1",
    )
    state = msgspec.structs.replace(state, transactions=[sold], applied_runs=["run-1"])
    current = Current(accounts={**current.accounts, "demo": (state, 5)}, households=current.households, models={})
    lots = [{"lot_id": "c1", "symbol": "VTI", "shares": "10", "cost_basis": "2000", "acquired": "2024-01-02"}]
    request = PutAccounts(
        request_id="r11", accounts=[AccountWrite(account_id="demo", document={"lots": lots, "cash": "5"}, merge=True)]
    )
    plan = plan_writes(request, current, SECURITIES)
    new = next(w.value for w in plan.writes if w.key == "account.demo")
    assert isinstance(new, AccountState)
    assert [lot.lot_id for lot in new.initial_lots] == ["c1"]
    assert new.transactions == [] and new.archived_transactions == [sold]
    assert new.applied_runs == ["run-1"]  # an old run redelivered is still not applied again
    assert new.account.cash == Decimal(5)
    assert plan.changes[0].fields == ["cash", "lots"]


def test_models_are_validated_and_assignable_by_name() -> None:
    model = {
        "targets": {"equity": 80, "bond": 20},
        "securities": [{"symbol": "SCHB", "percent": 50, "substitutes": ["ITOT"]}],
    }
    request = PutAccounts(
        request_id="r12",
        models=[ModelWrite(name="growth", document=model)],
        accounts=[AccountWrite(account_id="new-ira", document=_new_account(model="growth"))],
    )
    plan = plan_writes(request, _current(), SECURITIES)
    assert plan.outcome == "applied", plan.problems
    account = next(w.value for w in plan.writes if w.key == "account.new-ira")
    assert isinstance(account, AccountState)
    assert account.account.model == "growth"
    assert account.account.target == {"equity": Decimal(80), "bond": Decimal(20)}
    assert account.account.security_targets == {"SCHB": Decimal(50)}
    assert account.account.substitutes == {"SCHB": ["ITOT"]}
    bad = {"targets": {"equity": 80, "bond": 10}}
    refused = plan_writes(
        PutAccounts(request_id="r13", models=[ModelWrite(name="g", document=bad)]), _current(), SECURITIES
    )
    assert [(p.path, p.message) for p in refused.problems] == [
        ("models[0].targets", "percentages add up to 90, not 100")
    ]
    unknown = plan_writes(
        PutAccounts(
            request_id="r14", accounts=[AccountWrite(account_id="new-ira", document=_new_account(model="nope"))]
        ),
        _current(),
        SECURITIES,
    )
    assert unknown.problems[0].path == "accounts[0].model"
    builtin = plan_writes(
        PutAccounts(request_id="r15", models=[ModelWrite(name="moderate", document=model)]), _current(), SECURITIES
    )
    assert builtin.outcome == "refused"


def test_camel_and_snake_case_are_both_read_but_not_both_at_once() -> None:
    assert snake_keys({"costBasis": 1, "target": {"equity": 1}}) == {"cost_basis": 1, "target": {"equity": 1}}
    both = _new_account(cash_reserve="1", cashReserve="2")
    plan = plan_writes(
        PutAccounts(request_id="r16", accounts=[AccountWrite(account_id="new-ira", document=both)]),
        _current(),
        SECURITIES,
    )
    assert [(p.path, p.message) for p in plan.problems] == [
        ("accounts[0].cash_reserve", "given twice (camelCase and snake_case)")
    ]
