"""Outside transactions (pure): buys open a lot and enter the history, sells relieve lots by the account's
method, cash moves and never goes negative, a client transaction id is recorded once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.book import RecordTransaction
from services.portfolio.domain import account_ledger_lots, household_ledger, load_household
from services.portfolio.domain.outside import check_transaction, record_outside
from services.portfolio.domain.state import AccountState
from shared.errors import DomainError, InvalidInputError
from shared.fields import date_field, decimal_field
from shared.securities import default_securities

SECURITIES = default_securities()
D = Decimal


def _demo(method: str = "fifo") -> AccountState:
    _, accounts = load_household()
    state = next(a for a in accounts if a.account.account_id == "demo")
    return msgspec.structs.replace(state, account=msgspec.structs.replace(state.account, lot_method=method))


def _derived(state: AccountState):  # type: ignore[no-untyped-def]
    return account_ledger_lots(household_ledger([state], SECURITIES), state.account.account_id)


def _tx(**fields: object) -> RecordTransaction:
    base: dict[str, object] = {"account_id": "demo", "client_transaction_id": "c1", "date": date(2026, 2, 2)}
    return RecordTransaction(**{**base, **fields})  # type: ignore[arg-type]


def test_a_buy_opens_a_lot_pays_cash_and_is_history() -> None:
    state = _demo()
    result = record_outside(state, _tx(type="buy", symbol="VTI", shares=D(2), price=D("300.50"), fees=D(1)), derived=[])
    assert result.lots == ("ext-c1",)
    lot = next(lot for lot in result.state.account.lots if lot.lot_id == "ext-c1")
    assert (lot.shares, lot.cost_basis, lot.acquired) == (D(2), D("602.00"), date(2026, 2, 2))
    assert result.state.account.cash == state.account.cash - D("602.00")
    assert result.state.transactions[-1].action == "buy" and result.state.transactions[-1].lot_id == "ext-c1"
    again = record_outside(result.state, _tx(type="buy", symbol="VTI", shares=D(2), price=D(300)), derived=[])
    assert again.already_recorded and again.state is result.state
    # the replayed household ledger holds the lot at its cost
    assert any(lot.lot_id == "ext-c1" and lot.adjusted_basis == D("602.00") for lot in _derived(result.state))


@pytest.mark.parametrize(("method", "first"), [("fifo", "demo-vti-1"), ("lifo", "demo-vti-2"), ("hifo", "demo-vti-2")])
def test_a_sell_relieves_lots_by_the_accounts_method(method: str, first: str) -> None:
    state = _demo(method)
    sell = _tx(type="sell", symbol="VTI", shares=D(45), price=D(310), fees=D("4.99"))
    result = record_outside(state, sell, derived=_derived(state))
    assert result.lots[0] == first
    rows = [t for t in result.state.transactions if t.action == "sell"]
    assert sum(t.shares for t in rows) == D(45)
    assert sum(t.fees for t in rows) == D("4.99")
    assert result.state.account.cash == state.account.cash + D(45) * 310 - D("4.99")
    held = sum(lot.shares for lot in result.state.account.lots if lot.symbol == "VTI")
    assert held == D(55)
    assert _derived(result.state)  # the history still replays


def test_cash_never_goes_negative_and_oversells_are_refused() -> None:
    state = _demo()
    with pytest.raises(DomainError, match="cash is"):
        record_outside(state, _tx(type="withdrawal", amount=D(999999)), derived=[])
    with pytest.raises(DomainError, match="holds 100"):
        record_outside(state, _tx(type="sell", symbol="VTI", shares=D(101), price=D(1)), derived=_derived(state))
    with pytest.raises(DomainError, match="record the deposit first"):
        record_outside(state, _tx(type="buy", symbol="VTI", shares=D(100), price=D(1000)), derived=[])
    deposit = record_outside(state, _tx(type="deposit", amount=D("250.25")), derived=[])
    assert deposit.state.account.cash == state.account.cash + D("250.25")
    assert deposit.state.cash_movements[-1].amount == D("250.25")


def test_checks_name_the_field() -> None:
    today = date(2026, 3, 1)
    cases = {
        "shares": _tx(type="buy", symbol="VTI", price=D(1)),
        "symbol": _tx(type="buy", symbol="NOPE1", shares=D(1), price=D(1)),
        "date": _tx(type="deposit", amount=D(1), date=date(2026, 3, 2)),
        "amount": _tx(type="withdrawal"),
    }
    for field, tx in cases.items():
        with pytest.raises(InvalidInputError, match=f"^{field}: "):
            check_transaction(tx, today=today, securities=SECURITIES)


@given(st.lists(st.tuples(st.sampled_from(["deposit", "withdrawal"]), st.integers(1, 5000)), max_size=12))
def test_cash_is_the_sum_of_its_movements(moves: list[tuple[str, int]]) -> None:
    """Whatever deposits and withdrawals are recorded (those that would overdraw refused), cash is the start
    plus the movements kept."""
    state = _demo()
    for i, (kind, amount) in enumerate(moves):
        try:
            state = record_outside(
                state, _tx(type=kind, amount=D(amount), client_transaction_id=f"m{i}"), derived=[]
            ).state
        except DomainError:
            continue
        assert state.account.cash >= 0
    assert state.account.cash == _demo().account.cash + sum((m.amount for m in state.cash_movements), D(0))


def test_hand_written_numbers_and_dates_are_bounded() -> None:
    with pytest.raises(InvalidInputError, match="at most 1000000000000"):
        decimal_field("1e999999", "cash")
    with pytest.raises(InvalidInputError, match="at most 12 decimal places"):
        decimal_field("0.0000000000001", "shares")
    assert decimal_field("1.500000000000000000", "shares") == D("1.5")
    with pytest.raises(InvalidInputError, match="before 1900-01-01"):
        date_field("0001-01-01", "lots[0].acquired")
