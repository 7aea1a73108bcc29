"""What a run's sales realized, as the household lot ledger records them (not the plan's estimate).

The ledger is replayed with and without the run's fills: the run's sales are those of its account on
its date that only the replay with them holds. A sale the run's fills change (the same security sold
earlier that day by another run: one sale event) is counted by its difference, so the totals are
exactly what the run added to the account's realized figures on that date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

import msgspec

from contracts import RealizedSale, RealizedSales
from services.portfolio.domain.state import AccountState
from shared.holding_period import Term
from shared.lot_ledger import LedgerResult, Sale
from shared.money import ZERO

__all__ = ["NOTHING_REALIZED", "realized_by_run", "without_run"]

NOTHING_REALIZED = RealizedSales(
    realized_short_term=ZERO, realized_long_term=ZERO, wash_sale_disallowed=ZERO, permanently_disallowed=ZERO
)
"""A run that sold nothing."""


def without_run(states: Sequence[AccountState], run_id: str) -> list[AccountState]:
    """The household's accounts as if ``run_id`` had never been applied (its transactions removed)."""
    return [
        msgspec.structs.replace(state, transactions=[t for t in state.transactions if t.run_id != run_id])
        for state in states
    ]


def _key(sale: Sale) -> tuple[object, ...]:
    return (
        sale.symbol,
        sale.lot_id,
        sale.shares,
        sale.acquired,
        sale.term,
        sale.proceeds,
        sale.cost_basis,
        sale.wash_sale_disallowed,
        sale.permanently_disallowed,
    )


def _of(ledger: LedgerResult, account_id: str, on: date) -> list[Sale]:
    return [s for s in ledger.sales if s.account_id == account_id and s.sale_date == on]


def _total(sales: Iterable[Sale], what: str) -> Decimal:
    return sum((getattr(s, what) for s in sales), ZERO)


def _gains(sales: Iterable[Sale], term: str) -> Decimal:
    return sum((s.gain for s in sales if s.term == term), ZERO)


def realized_by_run(with_run: LedgerResult, without: LedgerResult, account_id: str, on: date) -> RealizedSales:
    """The taxable sales ``account_id`` made on ``on`` that the ledger ``with_run`` holds and ``without``
    does not, and their totals (reportable gains by term, disallowed, permanently disallowed); all zero when
    the run sold nothing taxable (an IRA's sales are no taxable events)."""
    after, before = _of(with_run, account_id, on), _of(without, account_id, on)
    remaining = Counter(_key(s) for s in before)
    new: list[Sale] = []
    for sale in after:
        if remaining[_key(sale)] > 0:
            remaining[_key(sale)] -= 1
        else:
            new.append(sale)
    totals = (
        _gains(after, "short") - _gains(before, "short"),
        _gains(after, "long") - _gains(before, "long"),
        _total(after, "wash_sale_disallowed") - _total(before, "wash_sale_disallowed"),
        _total(after, "permanently_disallowed") - _total(before, "permanently_disallowed"),
    )
    return RealizedSales(
        realized_short_term=totals[0],
        realized_long_term=totals[1],
        wash_sale_disallowed=totals[2],
        permanently_disallowed=totals[3],
        sales=[
            RealizedSale(
                symbol=s.symbol,
                lot_id=s.lot_id,
                shares=s.shares,
                acquired=s.acquired,
                term="short" if s.term == Term.SHORT else "long",
                proceeds=s.proceeds,
                cost_basis=s.cost_basis,
                gain=s.gain,
                wash_sale_disallowed=s.wash_sale_disallowed,
                permanently_disallowed=s.permanently_disallowed,
            )
            for s in new
        ],
    )
