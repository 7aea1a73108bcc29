"""Properties of book writes: a GET's document put back changes nothing, whatever the account; a batch with
one invalid account writes nothing at all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contracts.book import AccountWrite, PutAccounts
from services.portfolio.domain import load_household
from services.portfolio.domain.book_writes import Current, plan_writes
from services.portfolio.domain.documents import account_document
from services.portfolio.domain.state import AccountState
from shared.securities import default_securities

SECURITIES = default_securities()
SYMBOLS = ["VTI", "BND", "AGG", "VNQ", "SCHB", "GLD", "BIL"]
_HOUSEHOLD, _ACCOUNTS = load_household()


def _amount(places: int, high: int) -> st.SearchStrategy[str]:
    return st.decimals(min_value=Decimal(1) / 10**places, max_value=high, places=places).map(lambda d: f"{d:f}")


lots = st.lists(
    st.fixed_dictionaries(
        {
            "symbol": st.sampled_from(SYMBOLS),
            "shares": _amount(3, 5000),
            "costBasis": _amount(2, 500_000),
            "acquired": st.dates(min_value=__import__("datetime").date(2000, 1, 3)).map(lambda d: d.isoformat()),
        }
    ),
    max_size=8,
).map(lambda items: [{**lot, "lotId": f"l{i}"} for i, lot in enumerate(items)])

accounts = st.fixed_dictionaries(
    {
        "householdId": st.just(_HOUSEHOLD.household_id),
        "accountType": st.sampled_from(["taxable", "traditional_ira", "roth_ira"]),
        "cash": _amount(2, 1_000_000),
        "lots": lots,
        "lotMethod": st.sampled_from(["fifo", "lifo", "hifo", "min_tax"]),
        "fractional": st.booleans(),
    },
    optional={
        "model": st.sampled_from(["conservative", "moderate", "aggressive"]),
        "bandRelative": _amount(2, 1),
        "minTrade": _amount(0, 1000),
        "restrictedSymbols": st.lists(st.sampled_from(SYMBOLS), max_size=3),
        "rebalanceTo": st.sampled_from(["target", "band-edge"]),
    },
)


def _current(extra: dict[str, tuple[AccountState | None, int]] | None = None, household: Any = None) -> Current:
    stored = {a.account.account_id: (a, 4) for a in _ACCOUNTS}
    households = {_HOUSEHOLD.household_id: (household or _HOUSEHOLD, 2)}
    return Current(accounts={**stored, **(extra or {})}, households=households, models={})


@given(accounts)
def test_a_documents_round_trip_changes_nothing(doc: dict[str, Any]) -> None:
    created = plan_writes(
        PutAccounts(request_id="p", accounts=[AccountWrite(account_id="p-1", document=doc)]), _current(), SECURITIES
    )
    assert created.outcome == "applied", created.problems
    state = next(w.value for w in created.writes if w.key == "account.p-1")
    assert isinstance(state, AccountState)
    again = PutAccounts(
        request_id="q", accounts=[AccountWrite(account_id="p-1", document=account_document(state), expected_revision=9)]
    )
    household = next(w.value for w in created.writes if w.kind == "household")
    replan = plan_writes(again, _current({"p-1": (state, 9)}, household), SECURITIES)
    assert replan.outcome == "applied" and replan.writes == []
    assert [c.change for c in replan.changes] == ["unchanged"]


@given(st.lists(accounts, min_size=1, max_size=4), st.data())
def test_one_invalid_account_writes_nothing(docs: list[dict[str, Any]], data: st.DataObject) -> None:
    bad = data.draw(st.integers(0, len(docs) - 1))
    writes = [AccountWrite(account_id=f"p-{i}", document=d) for i, d in enumerate(docs)]
    writes[bad] = AccountWrite(account_id=f"p-{bad}", document={**docs[bad], "cash": "-1"})
    plan = plan_writes(PutAccounts(request_id="r", accounts=writes), _current(), SECURITIES)
    assert plan.outcome == "invalid" and plan.writes == []
    assert [p.path for p in plan.problems] == [f"accounts[{bad}].cash"]
