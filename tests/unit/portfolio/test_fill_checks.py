"""The ledger's trust rule: a fill counts only if it matches an order execution recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from contracts import Fill, Trade
from services.portfolio.domain.fill_checks import fills_problem, order_key

AT = datetime(2026, 5, 1, 20, tzinfo=UTC)
RUN = "run-1"
ORDER = Fill(order_id=f"{RUN}.t1", trade_id="t1", symbol="VTI", action="buy", shares=Decimal(10),
             price=Decimal("355.30"), commission=Decimal("0.36"), value=Decimal("3553.0"), filled_at=AT)  # fmt: skip
TRADE = Trade(trade_id="t1", symbol="VTI", action="buy", shares=Decimal(10), price=Decimal("355.25"),
              value=Decimal("3552.5"))  # fmt: skip
TOLERANCE = Decimal("0.05")


def _problem(*fills: Fill, executed: bool = True, orders: dict[str, Fill | None] | None = None) -> str | None:
    recorded = {order_key(RUN, "t1"): ORDER} if orders is None else orders
    return fills_problem(run_id=RUN, fills=fills, trades=[TRADE], orders=recorded, executed=executed,
                         tolerance=TOLERANCE)  # fmt: skip


def test_the_recorded_fill_itself_is_applied() -> None:
    assert _problem(ORDER) is None
    assert _problem() is None  # no fills: nothing to check


def test_partial_fills_of_one_order_may_not_exceed_it() -> None:
    half = msgspec.structs.replace(ORDER, shares=Decimal(5))
    assert _problem(half, half) is None
    assert "15 shares filled, 10 ordered" in (_problem(half, half, half) or "")


def test_without_a_recorded_execution_or_order_nothing_is_applied() -> None:
    assert "no recorded execution" in (_problem(ORDER, executed=False) or "")
    assert "recorded no order" in (_problem(ORDER, orders={}) or "")
    other_run = msgspec.structs.replace(ORDER, order_id="run-2.t1")
    assert "is not this run's order" in (_problem(other_run) or "")


@given(st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=6))
def test_a_price_is_plausible_only_within_the_tolerance_of_the_order(price: Decimal) -> None:
    problem = _problem(msgspec.structs.replace(ORDER, price=price))
    plausible = abs(price - ORDER.price) <= ORDER.price * TOLERANCE
    assert (problem is None) == plausible


def test_side_symbol_commission_and_simulation_must_match() -> None:
    assert "the order is to buy VTI" in (_problem(msgspec.structs.replace(ORDER, action="sell")) or "")
    assert "commission" in (_problem(msgspec.structs.replace(ORDER, commission=Decimal(-1))) or "")
    assert "simulated" in (_problem(msgspec.structs.replace(ORDER, simulated=True)) or "")
    assert "shares must be positive" in (_problem(msgspec.structs.replace(ORDER, shares=Decimal(0))) or "")
