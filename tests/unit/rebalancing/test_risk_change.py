"""Account volatility before and after a plan, from a covariance matrix."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest

from contracts import AccountSnapshot, Lot, PortfolioRisk, Trade
from services.rebalancing.risk_change import holdings_after, volatility

RISK = PortfolioRisk(volatility=0.0, symbols=["BND", "VTI"], covariance=[[0.0025, 0.0], [0.0, 0.04]])
PRICES = {"VTI": Decimal(100), "BND": Decimal(50)}
ACCOUNT = AccountSnapshot(
    account_id="a",
    household_id="h",
    cash=Decimal(5000),
    lots=[Lot(lot_id="v", symbol="VTI", shares=Decimal(50), cost_basis=Decimal(4000), acquired=date(2020, 1, 2))],
)


def test_cash_has_no_volatility_and_weights_include_it() -> None:
    # half VTI (20% vol), half cash: 10%
    assert volatility(holdings_after(ACCOUNT, []), ACCOUNT.cash, PRICES, RISK) == pytest.approx(0.10)


def test_after_the_trades() -> None:
    buy = Trade(trade_id="t1", symbol="BND", action="buy", shares=Decimal(100), price=Decimal(50), value=Decimal(5000))
    after = holdings_after(ACCOUNT, [buy])
    assert after == {"VTI": Decimal(50), "BND": Decimal(100)}
    expected = math.sqrt(0.25 * 0.04 + 0.25 * 0.0025)  # half VTI, half BND, uncorrelated
    assert volatility(after, Decimal(0), PRICES, RISK) == pytest.approx(expected)


def test_no_covariance_or_an_uncovered_holding_gives_none() -> None:
    assert volatility({"VTI": Decimal(1)}, Decimal(0), PRICES, None) is None
    assert volatility({"GLD": Decimal(1)}, Decimal(0), {"GLD": Decimal(1)}, RISK) is None
