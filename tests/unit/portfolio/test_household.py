"""Household files: the demo loads; every bad field is named in the error; target models."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from services.portfolio.domain import DEFAULT_HOUSEHOLD_FILE, MODELS, load_household, parse_household, target_for
from shared.errors import InvalidInputError

D = Decimal


def _demo() -> dict[str, Any]:
    return json.loads(DEFAULT_HOUSEHOLD_FILE.read_text(encoding="utf-8"))


def test_demo_household_loads() -> None:
    household, accounts = load_household()
    assert household.household_id == "demo-household"
    assert household.account_ids == ["demo", "demo-growth", "demo-ira"]
    assert len(accounts) == 3
    demo = accounts[0].account
    assert demo.account_id == "demo"
    assert demo.account_type == "taxable" and demo.taxable
    assert demo.risk_tolerance == "moderate"
    assert demo.rebalance_threshold == D(5)
    assert demo.cash == D("4000.00")
    shares: dict[str, Decimal] = {}
    for lot in demo.lots:
        shares[lot.symbol] = shares.get(lot.symbol, D(0)) + lot.shares
    assert shares == {"VTI": D(100), "BND": D(200), "VEA": D(150), "VNQ": D(50)}
    assert demo.target == {"equity": D(70), "bond": D(20), "reit": D(10), "cash": D(0)}
    assert demo.model == "moderate"
    assert demo.tax_profile.taxable_income == D(185000)
    assert demo.tax_profile.state_rate == D("0.05")
    keys = [(lot.symbol, lot.acquired, lot.lot_id) for lot in demo.lots]
    assert keys == sorted(keys)
    ira = accounts[2].account
    assert ira.account_type == "traditional_ira" and not ira.taxable
    assert ira.target == dict(MODELS["conservative"])


def test_all_accounts_share_the_household_profile() -> None:
    household, accounts = load_household()
    assert {a.account.household_id for a in accounts} == {"demo-household"}
    assert all(a.account.tax_profile == household.tax_profile for a in accounts)


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(_demo())
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (["accounts", 0, "lots", 2, "shares"], "abc", "accounts[0].lots[2].shares"),
        (["accounts", 0, "lots", 2, "shares"], "-5", "accounts[0].lots[2].shares"),
        (["accounts", 0, "lots", 2, "shares"], "0", "accounts[0].lots[2].shares"),
        (["accounts", 0, "lots", 2, "shares"], True, "accounts[0].lots[2].shares"),
        (["accounts", 0, "lots", 2, "shares"], "NaN", "accounts[0].lots[2].shares"),
        (["accounts", 0, "lots", 2, "shares"], _DELETE, "accounts[0].lots[2].shares"),
        (["accounts", 0, "lots", 1, "cost_basis"], "-1", "accounts[0].lots[1].cost_basis"),
        (["accounts", 0, "lots", 1, "acquired"], "2021-13-01", "accounts[0].lots[1].acquired"),
        (["accounts", 0, "lots", 1, "acquired"], _DELETE, "accounts[0].lots[1].acquired"),
        (["accounts", 0, "lots", 1, "symbol"], " ", "accounts[0].lots[1].symbol"),
        (["accounts", 0, "lots", 1, "lot_id"], _DELETE, "accounts[0].lots[1].lot_id"),
        (["accounts", 0, "lots", 1, "holding_period_start"], "yesterday", "accounts[0].lots[1].holding_period_start"),
        (["accounts", 0, "lots", 1], "a lot", "accounts[0].lots[1]"),
        (["accounts", 1, "lots"], {"x": 1}, "accounts[1].lots"),
        (["accounts", 1, "account_type"], "401k", "accounts[1].account_type"),
        (["accounts", 1, "risk_tolerance"], "yolo", "accounts[1].risk_tolerance"),
        (["accounts", 1, "lot_method"], "random", "accounts[1].lot_method"),
        (["accounts", 1, "cash"], "-0.01", "accounts[1].cash"),
        (["accounts", 1, "cash"], None, "accounts[1].cash"),
        (["accounts", 1, "cash_reserve"], "x", "accounts[1].cash_reserve"),
        (["accounts", 1, "rebalance_threshold"], "0", "accounts[1].rebalance_threshold"),
        (["accounts", 1, "last_rebalanced"], "June", "accounts[1].last_rebalanced"),
        (["accounts", 1, "account_id"], _DELETE, "accounts[1].account_id"),
        (["accounts", 2, "target"], {"equity": "60", "bond": "30"}, "accounts[2].target"),
        (["accounts", 2, "target"], {"equity": "abc"}, "accounts[2].target.equity"),
        (["accounts", 2, "target"], {}, "accounts[2].target"),
        (["accounts", 2], [], "accounts[2]"),
        (["accounts"], [], "household.accounts"),
        (["accounts"], _DELETE, "household.accounts"),
        (["household_id"], _DELETE, "household.household_id"),
        (["tax_profile", "filing_status"], "married", "tax_profile.filing_status"),
        (["tax_profile", "taxable_income"], "-1", "tax_profile.taxable_income"),
        (["tax_profile", "state_rate"], "five", "tax_profile.state_rate"),
        (["tax_profile", "federal_long_term_rate"], "x", "tax_profile.federal_long_term_rate"),
        (["tax_profile"], "single", "tax_profile"),
    ],
)
def test_every_bad_field_is_named(path: list[Any], value: Any, named: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_household(_with(path, value))
    assert str(info.value).startswith(named), str(info.value)


def test_duplicate_ids_are_refused() -> None:
    data = _demo()
    data["accounts"][0]["lots"][1]["lot_id"] = data["accounts"][0]["lots"][0]["lot_id"]
    with pytest.raises(InvalidInputError, match=r"accounts\[0\]\.lots: duplicate lot_id"):
        parse_household(data)
    data = _demo()
    data["accounts"][1]["account_id"] = "demo"
    with pytest.raises(InvalidInputError, match=r"household\.accounts: duplicate account_id"):
        parse_household(data)


def test_not_an_object_and_not_json(tmp_path: Any) -> None:
    with pytest.raises(InvalidInputError, match="household: expected a JSON object"):
        parse_household([])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_household(bad)


def test_custom_target_and_defaults() -> None:
    data = {
        "household_id": "h",
        "accounts": [
            {
                "account_id": "a",
                "target": {"equity": "60.5", "bond": "39.5"},
                "lots": [
                    {"lot_id": "l1", "symbol": " vti ", "shares": 1.5, "cost_basis": 10, "acquired": "2024-01-02"}
                ],
            }
        ],
    }
    household, (state,) = parse_household(data)
    account = state.account
    assert account.model == "custom"
    assert account.target == {"equity": D("60.5"), "bond": D("39.5")}
    assert state.custom_target == {"equity": "60.5", "bond": "39.5"}
    assert account.lots[0].symbol == "VTI"
    assert account.lots[0].shares == D("1.5")
    assert (account.account_type, account.risk_tolerance, account.lot_method) == ("taxable", "moderate", "fifo")
    assert account.rebalance_threshold == D(5) and account.cash == D(0)
    assert household.tax_profile.filing_status == "single"


@pytest.mark.parametrize(
    ("risk", "target"),
    [
        ("conservative", {"equity": 40, "bond": 50, "reit": 5, "cash": 5}),
        ("moderate", {"equity": 70, "bond": 20, "reit": 10, "cash": 0}),
        ("aggressive", {"equity": 85, "bond": 10, "reit": 5, "cash": 0}),
    ],
)
def test_models(risk: str, target: dict[str, int]) -> None:
    got = target_for(risk)
    assert got == {k: D(v) for k, v in target.items()}
    assert sum(got.values(), D(0)) == 100
    got["equity"] = D(0)  # a copy: the model itself does not change
    assert MODELS[risk]["equity"] == D(target["equity"])


def test_unknown_model() -> None:
    assert set(MODELS) == {"conservative", "moderate", "aggressive"}
    with pytest.raises(ValueError, match="unknown risk tolerance 'yolo'"):
        target_for("yolo")
