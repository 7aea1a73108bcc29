"""The one cost model: per-side rate, round trip, fills, commission, and every user reads it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.rebalancing.domain import PlanOptions
from services.tax.domain import HarvestThresholds
from shared.costs import DEFAULT_COSTS, CostModel, cost_model_from
from shared.settings import load_settings

D = Decimal


def test_rate_is_commission_plus_half_spread_per_side() -> None:
    model = CostModel(commission_per_trade=D("1"), commission_bps=D(2), half_spread_bps=D(3))
    assert model.rate == D("0.0005")
    assert model.trade_cost(D(10_000)) == D(6)
    assert model.round_trip_cost(D(10_000)) == D(12)
    assert model.fill_price(D(100), "buy") == D("100.0300")
    assert model.fill_price(D(100), "sell") == D("99.9700")
    assert model.commission(D(10_000)) == D("3.00")


def test_negative_costs_are_refused() -> None:
    with pytest.raises(ValueError, match="half_spread_bps is negative"):
        CostModel(half_spread_bps=D(-1))


def test_settings_feed_the_model() -> None:
    settings = load_settings(commission_per_trade=D("0.5"), commission_bps=D(1), half_spread_bps=D(7))
    assert cost_model_from(settings) == CostModel(
        commission_per_trade=D("0.5"), commission_bps=D(1), half_spread_bps=D(7)
    )
    assert cost_model_from(load_settings()) == DEFAULT_COSTS


def test_planner_and_harvest_default_to_the_shared_model() -> None:
    assert PlanOptions().costs == DEFAULT_COSTS
    assert HarvestThresholds().trading_cost_bps == DEFAULT_COSTS.rate * 10_000


def test_the_paper_broker_uses_the_shared_model() -> None:
    from services.execution.domain import CostModel as BrokerCostModel

    assert BrokerCostModel is CostModel
