"""The paper broker: cost model, deterministic fills, trade validation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from contracts import Trade
from services.execution.domain import CostModel, fill_trade, order_id_for, validate_trade
from shared.errors import InvalidInputError

D = Decimal
AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def _trade(action: str = "buy", shares: str = "10", symbol: str = "VTI", trade_id: str = "t7") -> Trade:
    return Trade(
        trade_id=trade_id,
        symbol=symbol,
        action=action,  # type: ignore[arg-type]
        shares=D(shares),
        price=D("300"),
        value=D("3000"),
    )


@pytest.mark.parametrize(
    ("close", "spread_bps", "buy", "sell"),
    [
        ("100", "2", "100.0100", "99.9900"),
        ("300.00", "2", "300.0300", "299.9700"),
        ("72.51", "3", "72.5209", "72.4991"),  # 72.51 * 1.00015 = 72.5208765 -> half up
        ("10.00", "1", "10.0005", "9.9995"),
        ("55.55", "0", "55.5500", "55.5500"),
    ],
)
def test_fill_price_is_close_plus_or_minus_half_the_spread(close: str, spread_bps: str, buy: str, sell: str) -> None:
    model = CostModel(half_spread_bps=D(spread_bps) / 2)
    assert model.fill_price(D(close), "buy") == D(buy)
    assert model.fill_price(D(close), "sell") == D(sell)
    assert model.fill_price(D(close), "buy").as_tuple().exponent == -4


def test_price_rounding_is_half_up() -> None:
    model = CostModel(half_spread_bps=D(2) / 2)
    # 0.5 * 1.0001 = 0.50005 exactly: half up gives 0.5001 (banker's rounding would give 0.5000)
    assert model.fill_price(D("0.5"), "buy") == D("0.5001")


def test_commission_is_fixed_plus_bps_in_cents() -> None:
    assert CostModel(commission_bps=D(1), half_spread_bps=D(1)).commission(D("3000.30")) == D("0.30")  # 1 bp
    assert CostModel(commission_bps=D(1), half_spread_bps=D(1)).commission(D("1250")) == D("0.13")  # 0.125 half up
    assert CostModel(commission_per_trade=D("4.95")).commission(D("1e6")) == D("4.95")
    assert CostModel(commission_per_trade=D("1"), commission_bps=D(5)).commission(D("999.99")) == D("1.50")
    assert CostModel(commission_bps=D(1), half_spread_bps=D(1)).commission(D("1250")).as_tuple().exponent == -2


def test_fill_trade() -> None:
    model = CostModel(commission_bps=D(1), half_spread_bps=D(1))
    fill = fill_trade(_trade("buy", "10"), run_id="r1", close=D("300.00"), model=model, at=AT, simulated=False)
    assert fill.order_id == "r1.t7" == order_id_for("r1", "t7")
    assert (fill.trade_id, fill.symbol, fill.action, fill.shares) == ("t7", "VTI", "buy", D(10))
    assert fill.price == D("300.0300")
    assert fill.value == D("3000.3000")
    assert fill.commission == D("0.30")
    assert fill.filled_at == AT
    assert fill.simulated is False
    sell = fill_trade(_trade("sell", "3"), run_id="r1", close=D("300.00"), model=model, at=AT, simulated=True)
    assert (sell.price, sell.value, sell.commission, sell.simulated) == (D("299.9700"), D("899.9100"), D("0.09"), True)


def test_fill_trade_is_deterministic() -> None:
    model = CostModel(commission_per_trade=D("0.99"), commission_bps=D(1), half_spread_bps=D("2.5"))
    fills = [
        fill_trade(_trade("sell", "7"), run_id="r9", close=D("123.4567"), model=model, at=AT, simulated=False)
        for _ in range(3)
    ]
    assert fills[0] == fills[1] == fills[2]


def test_validate_trade_returns_the_market_price() -> None:
    assert validate_trade(_trade(), {"VTI": D("301.25")}) == D("301.25")


@pytest.mark.parametrize(
    ("trade", "prices", "message"),
    [
        (_trade(shares="0", trade_id="t3"), {"VTI": D(1)}, "t3: VTI quantity must be positive, got 0"),
        (_trade(shares="-2", trade_id="t4"), {"VTI": D(1)}, "t4: VTI quantity must be positive, got -2"),
        (_trade(trade_id="t5"), {}, "t5: no market price for VTI"),
        (_trade(trade_id="t6"), {"VTI": D(0)}, "t6: no market price for VTI"),
        (_trade(action="short", trade_id="t8"), {"VTI": D(1)}, "t8: unknown action 'short'"),
    ],
)
def test_validate_trade_errors_name_the_trade(trade: Trade, prices: dict[str, Decimal], message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_trade(trade, prices)
    assert str(info.value) == message
    assert info.value.retryable is False
