"""The live ledger derived from the household's history (issue 8): the cases where patching an
adjustment onto a lot by id lost it (replacement in another account, replacement sold by a concurrent
run, replacement bought in a later run) now land it exactly once, whatever order the runs applied in;
and the transactions CSV replays offline to the very same lots."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from contracts import AccountSnapshot, Fill, Lot, LotSale, Trade
from services.portfolio.domain import (
    AccountState,
    account_ledger_lots,
    apply_fills,
    household_ledger,
    household_transactions,
    parse_household,
    transactions_csv,
    with_ledger_lots,
)
from services.portfolio.domain.household_ledger import initial_lots_of
from shared.errors import DomainError
from shared.lot_ledger import parse_transactions_csv, replay
from shared.securities import default_securities

D = Decimal
SECURITIES = default_securities()
AT = datetime(2024, 3, 1, 15, tzinfo=UTC)


def _account(account_id: str, lots: list[Lot], cash: str = "50000", kind: str = "taxable") -> AccountState:
    snapshot = AccountSnapshot(
        account_id=account_id,
        household_id="h",
        account_type=kind,  # type: ignore[arg-type]
        cash=D(cash),
        lots=lots,
    )
    return AccountState(account=snapshot, initial_lots=list(lots))


def _trade(
    run: str, action: str, symbol: str, shares: int, price: str, lots: tuple[tuple[str, int], ...] = ()
) -> tuple[Trade, Fill]:
    trade = Trade(
        trade_id=f"{run}-t",
        symbol=symbol,
        action=action,  # type: ignore[arg-type]
        shares=D(shares),
        price=D(price),
        value=D(shares) * D(price),
        lots=[LotSale(lot_id=lot_id, shares=D(n)) for lot_id, n in lots],
    )
    fill = Fill(
        order_id=f"o-{run}",
        trade_id=trade.trade_id,
        symbol=symbol,
        action=action,  # type: ignore[arg-type]
        shares=D(shares),
        price=D(price),
        commission=D("1.00"),
        value=D(shares) * D(price),
        filled_at=AT,
    )
    return trade, fill


def _run(state: AccountState, run: str, on: str, *trade: tuple[Trade, Fill]) -> AccountState:
    trades = [t for t, _ in trade]
    fills = [f for _, f in trade]
    return apply_fills(state, run_id=run, as_of=date.fromisoformat(on), trades=trades, fills=fills).state


BND = Lot(lot_id="a-bnd", symbol="BND", shares=D(100), cost_basis=D("8000.00"), acquired=date(2023, 1, 10))
VTI = Lot(lot_id="b-vti", symbol="VTI", shares=D(60), cost_basis=D("12345.67"), acquired=date(2021, 3, 15))


def _household() -> list[AccountState]:
    """A sells BND at a loss on 03-01; B bought AGG (same group) on 02-20 and sold it on 03-01 too, in
    its own run: the old code logged "replacement lot ... is not held" and the loss vanished."""
    a = _account("A", [BND])
    b = _account("B", [VTI])
    b = _run(b, "rb1", "2024-02-20", _trade("rb1", "buy", "AGG", 40, "95"))
    a = _run(a, "ra1", "2024-03-01", _trade("ra1", "sell", "BND", 100, "72", (("a-bnd", 100),)))
    b = _run(b, "rb2", "2024-03-01", _trade("rb2", "sell", "AGG", 40, "96", (("rb1-rb1-t", 40),)))
    return [a, b]


def test_a_loss_washed_by_a_replacement_sold_the_same_day_lands_in_that_sale() -> None:
    ledger = household_ledger(_household(), SECURITIES)
    (loss,) = [s for s in ledger.sales if s.symbol == "BND"]
    (agg,) = [s for s in ledger.sales if s.symbol == "AGG"]
    # 40 of the 100 BND shares are washed by the AGG shares: 40/100 of the loss (8000 - 7199)
    assert loss.wash_sale_disallowed == D("320.40")
    assert agg.wash_sale_adjustment == D("320.40")  # carried into the AGG sale's basis
    assert agg.cost_basis == D(40 * 95 + 1) + D("320.40")
    assert agg.holding_period_start < agg.acquired  # the BND holding period was tacked on


def test_the_order_the_runs_were_applied_in_changes_nothing() -> None:
    a, b = _household()
    expected = household_ledger([a, b], SECURITIES)
    for order in itertools.permutations([*a.transactions, *b.transactions]):
        txs_a = [t for t in order if t.account_id == "A"]
        txs_b = [t for t in order if t.account_id == "B"]
        shuffled = [
            AccountState(account=a.account, initial_lots=a.initial_lots, transactions=txs_a),
            AccountState(account=b.account, initial_lots=b.initial_lots, transactions=txs_b),
        ]
        assert household_ledger(shuffled[::-1], SECURITIES) == expected


def test_a_replacement_bought_in_a_later_run_gets_the_loss_and_the_holding_period() -> None:
    a = _account("A", [BND])
    a = _run(a, "r1", "2024-03-01", _trade("r1", "sell", "BND", 100, "72", (("a-bnd", 100),)))
    b = _run(_account("B", []), "r2", "2024-03-20", _trade("r2", "buy", "AGG", 100, "94"))
    lots = account_ledger_lots(household_ledger([a, b], SECURITIES), "B")
    (agg,) = lots
    assert agg.wash_sale_adjustment == D("801.00")  # 8000 - (7200 - 1 commission)
    assert agg.adjusted_basis == D(9400 + 1) + D("801.00")
    assert agg.holding_start == date(2024, 3, 20) - (date(2024, 3, 1) - date(2023, 1, 10))
    snapshot = with_ledger_lots(b.account, household_ledger([a, b], SECURITIES))
    assert snapshot.lots[0].cost_basis == D("10202.00") and snapshot.lots[0].wash_sale_adjustment == D("801.00")


def test_an_ira_replacement_is_permanent_and_every_dollar_is_accounted() -> None:
    a = _run(_account("A", [BND]), "r1", "2024-03-01", _trade("r1", "sell", "BND", 100, "72", (("a-bnd", 100),)))
    ira = _run(_account("I", [], kind="traditional_ira"), "r2", "2024-03-05", _trade("r2", "buy", "AGG", 30, "94"))
    b = _run(_account("B", []), "r3", "2024-03-06", _trade("r3", "buy", "BND", 50, "72"))
    ledger = household_ledger([a, ira, b], SECURITIES)
    (loss,) = ledger.sales
    assert loss.permanently_disallowed == D("240.30") and loss.wash_sale_disallowed == D("640.80")
    held = sum((lot.wash_sale_adjustment for lot in ledger.open_lots), D(0))
    assert loss.wash_sale_disallowed == held + loss.permanently_disallowed


def test_the_transactions_csv_replays_offline_to_the_same_lots() -> None:
    household = _household()
    b = _run(household[1], "rb3", "2024-03-04", _trade("rb3", "sell", "VTI", 7, "210.37", (("b-vti", 7),)))
    household = [household[0], b]
    text = transactions_csv(household_transactions(household))
    assert (
        text.splitlines()[0] == "date,account,account_type,symbol,action,shares,price,lot_id,fees,holding_period_start"
    )
    offline = replay(parse_transactions_csv(io.StringIO(text)), securities=SECURITIES)
    assert offline.open_lots == household_ledger(household, SECURITIES).open_lots
    (vti,) = offline.open_lots
    assert vti.cost_basis == D("12345.67") - D("1440.33")  # 7/60 of the cost, in cents: the cost is exact


def test_household_file_lots_are_the_initial_lots_and_old_states_fall_back() -> None:
    _, accounts = parse_household(
        {
            "household_id": "h",
            "accounts": [
                {
                    "account_id": "x",
                    "lots": [
                        {
                            "lot_id": "l1",
                            "symbol": "VTI",
                            "shares": "10",
                            "cost_basis": "1000",
                            "acquired": "2020-01-02",
                        }
                    ],
                }
            ],
        }
    )
    assert [lot.lot_id for lot in accounts[0].initial_lots] == ["l1"]
    state = _run(accounts[0], "r1", "2024-03-01", _trade("r1", "sell", "VTI", 4, "150", (("l1", 4),)))
    old = AccountState(account=state.account, transactions=state.transactions)  # stored before initial_lots
    (lot,) = initial_lots_of(old)
    assert (lot.shares, lot.cost_basis) == (D(10), D(1000))


def test_a_sale_dated_before_its_lot_was_bought_is_refused() -> None:
    b = _run(_account("B", []), "r1", "2024-03-20", _trade("r1", "buy", "AGG", 10, "94"))
    with pytest.raises(DomainError, match="acquired later"):
        _run(b, "r2", "2024-03-10", _trade("r2", "sell", "AGG", 10, "94", (("r1-r1-t", 10),)))
