"""Execution never sells more of a symbol than the ledger holds."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from contracts import Trade
from services.execution.domain.holdings import sells_beyond_holdings


def _sell(trade_id: str, symbol: str, shares: int) -> Trade:
    return Trade(trade_id=trade_id, symbol=symbol, action="sell", shares=Decimal(shares), price=Decimal(1),
                 value=Decimal(shares))  # fmt: skip


def test_sells_within_holdings_pass_and_the_rest_are_named() -> None:
    trades = [_sell("t1", "BND", 150), _sell("t2", "BND", 100), _sell("t3", "VTI", 5), _sell("t4", "XYZ", 1)]
    refused = sells_beyond_holdings(trades, {"BND": Decimal(200), "VTI": Decimal(5)})
    assert refused == {
        "t2": "sell of 100 BND exceeds the 50 shares the account holds",
        "t4": "sell of 1 XYZ exceeds the 0 shares the account holds",
    }


@given(st.lists(st.integers(min_value=1, max_value=300), max_size=6), st.integers(min_value=0, max_value=500))
def test_what_is_sent_never_exceeds_what_is_held(sizes: list[int], held: int) -> None:
    trades = [_sell(f"t{i}", "BND", n) for i, n in enumerate(sizes)]
    refused = sells_beyond_holdings(trades, {"BND": Decimal(held)})
    assert sum(t.shares for t in trades if t.trade_id not in refused) <= held
