"""Household activity for the wash-sale window, and valuation by asset class."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import AccountSnapshot, Lot, Transaction
from services.portfolio.domain import (
    LOOKBACK_DAYS,
    AccountState,
    allocation,
    holdings_value,
    household_activity,
    load_household,
    total_value,
)

D = Decimal
TODAY = date(2026, 5, 1)


def _lot(lot_id: str, symbol: str, acquired: date, shares: str = "10", basis: str = "1000.00") -> Lot:
    return Lot(lot_id=lot_id, symbol=symbol, shares=D(shares), cost_basis=D(basis), acquired=acquired)


def _txn(lot_id: str, day: date, action: str = "buy") -> Transaction:
    return Transaction(
        account_id="a1",
        account_type="taxable",
        date=day,
        symbol="VTI",
        action=action,  # type: ignore[arg-type]
        shares=D(1),
        price=D(100),
        lot_id=lot_id,
    )


def test_recent_lots_are_buys_and_the_lookback_is_respected() -> None:
    since = TODAY - timedelta(days=LOOKBACK_DAYS)
    account = AccountSnapshot(
        account_id="a1",
        household_id="h",
        account_type="traditional_ira",
        lots=[
            _lot("old", "VTI", since - timedelta(days=1)),
            _lot("edge", "VTI", since),
            _lot("new", "BND", TODAY - timedelta(days=3), shares="4", basis="300.02"),
            _lot("recorded", "VTI", TODAY - timedelta(days=5)),
        ],
    )
    state = AccountState(
        account=account,
        transactions=[
            _txn("recorded", TODAY - timedelta(days=5)),
            _txn("gone", since - timedelta(days=2), action="sell"),
            _txn("sold", TODAY - timedelta(days=1), action="sell"),
        ],
    )
    activity = household_activity([state], today=TODAY)
    assert [(t.lot_id, t.action, t.date) for t in activity] == [
        ("edge", "buy", since),
        ("recorded", "buy", TODAY - timedelta(days=5)),
        ("new", "buy", TODAY - timedelta(days=3)),
        ("sold", "sell", TODAY - timedelta(days=1)),
    ]
    new = next(t for t in activity if t.lot_id == "new")
    assert new.price == D("75.005")  # basis per share
    assert new.account_type == "traditional_ira" and new.symbol == "BND" and new.shares == D(4)


def test_demo_household_activity_covers_every_account() -> None:
    _, accounts = load_household()
    activity = household_activity(accounts, today=date(2026, 5, 1))
    assert {t.lot_id for t in activity} == {"demo-vti-2", "demo-vea-2", "ira-agg-1"}
    assert {t.account_id for t in activity} == {"demo", "demo-ira"}
    assert all(t.action == "buy" for t in activity)
    keys = [(t.date, t.account_id, t.symbol, t.action, t.lot_id) for t in activity]
    assert keys == sorted(keys)


def _demo() -> AccountSnapshot:
    _, accounts = load_household()
    return accounts[0].account


PRICES = {"VTI": D("300.00"), "BND": D("72.50"), "VEA": D("50.10"), "VNQ": D("90.00")}


def test_holdings_and_total_value() -> None:
    account = _demo()
    assert holdings_value(account, PRICES) == {
        "BND": D("14500.00"),
        "VEA": D("7515.00"),
        "VNQ": D("4500.00"),
        "VTI": D("30000.00"),
    }
    assert total_value(account, PRICES) == D("60515.00")  # with 4000.00 cash


def test_allocation_by_asset_class() -> None:
    got = allocation(_demo(), PRICES)
    assert got == {
        "bond": D("23.96"),
        "cash": D("6.61"),
        "equity": D("61.99"),  # 37515 / 60515
        "reit": D("7.44"),
    }
    assert abs(sum(got.values(), D(0)) - 100) <= D("0.05")


def test_allocation_of_an_empty_account_is_zero() -> None:
    account = AccountSnapshot(account_id="a", household_id="h", target={"equity": D(100)})
    assert allocation(account, {}) == {"equity": D(0), "cash": D(0)}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(sorted(PRICES)), st.integers(1, 10_000)), min_size=1, max_size=8),
    st.dictionaries(st.sampled_from(sorted(PRICES)), st.integers(1, 1_000_000), min_size=4, max_size=4),
    st.integers(0, 10_000_000),
)
def test_allocation_sums_to_100(holdings: list[tuple[str, int]], cents: dict[str, int], cash: int) -> None:
    lots = [_lot(f"l{i}", symbol, date(2020, 1, 1), shares=str(n)) for i, (symbol, n) in enumerate(holdings)]
    account = AccountSnapshot(
        account_id="a", household_id="h", cash=D(cash) / 100, lots=lots, target={"equity": D(70), "bond": D(30)}
    )
    prices = {symbol: D(c) / 100 for symbol, c in cents.items()}
    got = allocation(account, prices)
    assert abs(sum(got.values(), D(0)) - 100) <= D("0.05")
    assert all(v >= 0 for v in got.values())
    assert {"equity", "bond", "cash"} <= set(got)
