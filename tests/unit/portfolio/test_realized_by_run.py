"""What a run's sales realized, from the household ledger replayed with and without the run's fills."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.portfolio.domain import realized_by_run
from shared.lot_ledger import AccountPolicy, AccountType, Action, Transaction, replay
from shared.securities import default_securities

D = Decimal
SECURITIES = default_securities()
POLICIES = [
    AccountPolicy(account_id="a", account_type=AccountType.TAXABLE),
    AccountPolicy(account_id="ira", account_type=AccountType.TRADITIONAL_IRA),
]


def _tx(day: date, action: str, shares: str, price: str, account: str = "a", fees: str = "0") -> Transaction:
    kind = AccountType.TRADITIONAL_IRA if account == "ira" else AccountType.TAXABLE
    return Transaction(
        trade_date=day,
        account_id=account,
        symbol="VOO",
        action=Action(action),
        shares=D(shares),
        price=D(price),
        account_type=kind,
        fees=D(fees),
    )


def _ledger(transactions: list[Transaction]):  # type: ignore[no-untyped-def]
    return replay(transactions, securities=SECURITIES, accounts=POLICIES)


HISTORY = [
    _tx(date(2023, 1, 3), "buy", "100", "50"),
    _tx(date(2024, 2, 15), "buy", "100", "45"),
]
SOLD = date(2024, 3, 1)


def test_the_runs_sales_by_term_net_of_fees() -> None:
    run = [_tx(SOLD, "sell", "150", "60", fees="3")]
    realized = realized_by_run(_ledger([*HISTORY, *run]), _ledger(HISTORY), "a", SOLD)
    # FIFO: 100 long-term from 50 (gain 1000 less 2 of the fee), 50 short-term from 45 (750 less 1)
    assert realized.realized_long_term == D("998")
    assert realized.realized_short_term == D("749")
    assert realized.wash_sale_disallowed == realized.permanently_disallowed == D(0)
    assert [(s.term, s.shares, s.gain) for s in realized.sales] == [("long", 100, D("998")), ("short", 50, D("749"))]


def test_a_loss_washed_by_an_ira_purchase_is_disallowed_for_good() -> None:
    history = [HISTORY[0], _tx(date(2024, 2, 20), "buy", "10", "41", account="ira")]
    run = [_tx(SOLD, "sell", "100", "40")]
    realized = realized_by_run(_ledger([*history, *run]), _ledger(history), "a", SOLD)
    # the 2023 lot: 100 x (40 - 50), of which 10 shares' loss is disallowed (reportable -900)
    assert realized.realized_long_term == D("-900")
    assert realized.wash_sale_disallowed == realized.permanently_disallowed == D("100")  # 10 shares x 10
    assert realized.realized_short_term == D(0)


def test_only_this_runs_sales_count_not_an_earlier_run_of_the_same_day() -> None:
    earlier = [*HISTORY, _tx(SOLD, "sell", "50", "60")]
    run = [_tx(SOLD, "sell", "20", "60")]
    realized = realized_by_run(_ledger([*earlier, *run]), _ledger(earlier), "a", SOLD)
    assert realized.realized_long_term == D("200")  # 20 more shares of the 2023 lot, 10 each
    assert realized.realized_short_term == D(0)


def test_a_run_that_sold_nothing_realized_nothing() -> None:
    run = [_tx(SOLD, "buy", "5", "60")]
    realized = realized_by_run(_ledger([*HISTORY, *run]), _ledger(HISTORY), "a", SOLD)
    assert realized.sales == [] and realized.realized_long_term == realized.realized_short_term == D(0)
