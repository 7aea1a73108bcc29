"""Buys sized to the cash the sells raised; ledger-versus-broker differences."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from contracts import PositionDifference, Trade
from services.execution.domain import CASH, cash_shortfall, differences, size_buys

D = Decimal
PRICES = {"VTI": D("300"), "BND": D("70"), "VEA": D("50")}


def _trade(trade_id: str, symbol: str, action: Literal["buy", "sell"], shares: str) -> Trade:
    qty = D(shares)
    return Trade(
        trade_id=trade_id,
        symbol=symbol,
        action=action,
        shares=qty,
        price=PRICES[symbol],
        value=qty * PRICES[symbol],
    )


SELL = _trade("t1", "VTI", "sell", "10")  # 3,000 planned
BUYS = [_trade("t2", "BND", "buy", "20"), _trade("t3", "VEA", "buy", "30")]  # 1,400 + 1,500


def test_sells_within_the_allowance_leave_the_buys_as_planned() -> None:
    raised = D("2999.10")  # 3 bps of spread and fees
    shortfall = cash_shortfall([SELL], PRICES, raised, allowance_bps=D(25))
    assert shortfall == 0
    assert size_buys(BUYS, PRICES, shortfall, allowance_bps=D(25)) == {"t2": D(20), "t3": D(30)}


def test_a_half_filled_sell_halves_the_buys() -> None:
    raised = D("1500")  # 5 of 10 shares sold
    shortfall = cash_shortfall([SELL], PRICES, raised, allowance_bps=D(0))
    assert shortfall == D("1500")
    sized = size_buys(BUYS, PRICES, shortfall, allowance_bps=D(0))
    assert sized == {"t2": D(9), "t3": D(14)}  # 1,400 of 2,900: x 0.4827..., floored
    assert sum(sized[t.trade_id] * PRICES[t.symbol] for t in BUYS) <= D(2900) - shortfall


def test_a_rejected_sell_stops_every_buy() -> None:
    shortfall = cash_shortfall([SELL], PRICES, D(0), allowance_bps=D(25))
    assert size_buys(BUYS, PRICES, shortfall, allowance_bps=D(25)) == {"t2": D(0), "t3": D(0)}


def test_fractional_buys_keep_six_places() -> None:
    buys = [_trade("t2", "BND", "buy", "20.5")]
    assert size_buys(buys, PRICES, D("717.5"), allowance_bps=D(0)) == {"t2": D("10.250000")}


def test_differences_name_each_symbol_with_both_quantities_and_cash() -> None:
    found = differences(
        {"VTI": D(100), "BND": D(200)}, D("1000.00"), {"VTI": D(100), "BND": D(190), "VEA": D(5)}, D("1000.004")
    )
    assert found == [
        PositionDifference(symbol="BND", ledger=D(200), broker=D(190)),
        PositionDifference(symbol="VEA", ledger=D(0), broker=D(5)),
    ]
    assert differences({}, D("10.00"), {}, D("10.01")) == [
        PositionDifference(symbol=CASH, ledger=D("10.00"), broker=D("10.01"))
    ]
