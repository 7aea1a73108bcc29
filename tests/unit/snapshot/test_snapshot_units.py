"""Snapshot ids, the bounded LRU, the market data service's universe and last date, and the resolution of
version-2 step commands from stored outputs (in-memory stores: no broker)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from contracts import (
    AccountSnapshot,
    ApplyFills,
    ApplyFillsV2,
    ExecuteTrades,
    ExecuteTradesV2,
    ExecutionResult,
    Fill,
    Lot,
    MarketAnalyzed,
    MarketConditions,
    PlanOptions,
    PlanRebalance,
    PlanRebalanceV2,
    PortfolioLoaded,
    PortfolioRisk,
    Quote,
    RebalancePlan,
    RebalancePlanned,
    SnapshotAnalysis,
    SnapshotPrices,
    TaxContext,
    TaxContextBuilt,
    Trade,
    TradesExecuted,
    snapshot_id,
)
from contracts.messages import Message
from services.market_data.domain import FileMarketDataProvider
from services.market_data.handlers import MarketDataService
from shared.bus.lru import LRU
from shared.bus.step_inputs import StepInputs, resolve, resolves_to
from shared.errors import InvalidInputError, NotFoundError
from shared.settings import Settings

D = Decimal
AT = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)
AS_OF = date(2026, 5, 1)
RUN = "run-1"
SNAP = "2026-05-01-0123456789abcdef"


# ---- snapshot ids and the LRU ---------------------------------------------------------------------
def test_a_snapshot_id_is_its_content_date_universe_and_rules() -> None:
    a = snapshot_id(AS_OF, ["VTI", "BND", "VEA"], rules="file:stale>3")
    assert a == snapshot_id(AS_OF, ["VEA", "VTI", "BND"], rules="file:stale>3")  # order does not matter
    assert a.startswith("2026-05-01-") and len(a) == len("2026-05-01-") + 16
    assert a != snapshot_id(AS_OF, ["VTI", "BND"], rules="file:stale>3")
    assert a != snapshot_id(date(2026, 4, 30), ["VTI", "BND", "VEA"], rules="file:stale>3")
    assert a != snapshot_id(AS_OF, ["VTI", "BND", "VEA"], rules="http:stale>3")


def test_the_lru_is_bounded_and_keeps_the_recently_used() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
    with pytest.raises(ValueError):
        LRU(0)


# ---- the market data service: universe and last date ----------------------------------------------
class _Runtime:
    def __init__(self) -> None:
        self.settings = Settings(stale_after_trading_days=3)


class _CountingProvider(FileMarketDataProvider):
    last_date_calls = 0

    def last_date(self) -> date:
        self.last_date_calls += 1
        return super().last_date()


def _service() -> tuple[MarketDataService, _CountingProvider]:
    provider = _CountingProvider(stale_after_trading_days=3)
    return MarketDataService(_Runtime(), provider), provider  # type: ignore[arg-type]


def test_the_universe_is_every_security_of_the_master_with_prices_on_the_date() -> None:
    service, _ = _service()
    now = service._universe_quotes(AS_OF)
    assert set(now) == set(service.securities)  # all 70 trade on 2026-05-01
    early = service._universe_quotes(date(2012, 1, 3))
    assert "SGOV" not in early and "XLRE" not in early and "IEMG" not in early  # listed later
    assert {"VTI", "BND", "VEA", "VNQ"} <= set(early)


async def test_the_last_date_is_read_once_not_per_run() -> None:
    service, provider = _service()
    dates = [await service.run_date(None) for _ in range(5)]
    assert dates == [AS_OF] * 5
    assert provider.last_date_calls == 1
    assert await service.run_date(date(2020, 3, 16)) == date(2020, 3, 16)


# ---- resolving version-2 commands -----------------------------------------------------------------
class _Steps:
    def __init__(self, outputs: dict[str, Message]) -> None:
        self.outputs = outputs

    async def find(self, run_id: str, step: str) -> Message | None:
        return self.outputs.get(step)

    async def get(self, run_id: str, step: str, type_: type[Any]) -> Any:
        found = self.outputs.get(step)
        if not isinstance(found, type_):
            raise InvalidInputError(f"run {run_id} has no stored output of {step}")
        return found


class _Snapshots:
    def __init__(self, prices: SnapshotPrices | None, analysis: SnapshotAnalysis | None) -> None:
        self._prices, self._analysis = prices, analysis

    async def prices(self, snapshot: str) -> SnapshotPrices:
        if self._prices is None:
            raise NotFoundError(f"market snapshot {snapshot}: no prices stored")
        return self._prices

    async def analysis(self, snapshot: str) -> SnapshotAnalysis:
        assert self._analysis is not None
        return self._analysis


def _quote(symbol: str, close: str) -> Quote:
    return Quote(symbol=symbol, as_of=AS_OF, close=D(close), previous_close=D(close), change=D(0), change_percent=D(0))


PRICES = SnapshotPrices(
    snapshot_id=SNAP,
    as_of=AS_OF,
    symbols=["BND", "GLD", "VTI"],
    quotes={"BND": _quote("BND", "73.36"), "GLD": _quote("GLD", "300.00"), "VTI": _quote("VTI", "355.29")},
)
ANALYSIS = SnapshotAnalysis(
    snapshot_id=SNAP,
    as_of=AS_OF,
    conditions=MarketConditions(
        market_sentiment="bullish", volatility_index=17.0, risk_recommendation="hold", market_timing="good"
    ),
    symbols=["BND", "GLD", "VTI"],
    covariance=[[0.01, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 0.03]],
)
ACCOUNT = AccountSnapshot(
    account_id="demo",
    household_id="hh",
    cash=D("1000"),
    lots=[Lot(lot_id="l1", symbol="VTI", shares=D("10"), cost_basis=D("3000"), acquired=date(2020, 1, 2))],
    target={"equity": D("70"), "bond": D("30")},
)


def _env(step: str) -> dict[str, Any]:
    return {"run_id": RUN, "message_id": f"{RUN}:{step}:1", "occurred_at": AT, "step": step, "attempt": 1}


def _fill(trade_id: str, simulated: bool) -> Fill:
    return Fill(
        order_id=f"{RUN}.{trade_id}",
        trade_id=trade_id,
        symbol="BND",
        action="buy",
        shares=D("10"),
        price=D("73.40"),
        commission=D("0.07"),
        value=D("734.00"),
        filled_at=AT,
        simulated=simulated,
    )


TRADE = Trade(trade_id="t01", symbol="BND", action="buy", shares=D("10"), price=D("73.36"), value=D("733.60"))
OUTPUTS: dict[str, Message] = {
    "load-portfolio": PortfolioLoaded(**_env("load-portfolio"), account=ACCOUNT),
    "analyze-market-conditions": MarketAnalyzed(
        **_env("analyze-market-conditions"), conditions=ANALYSIS.conditions, risk=PortfolioRisk(volatility=0.15)
    ),
    "tax-context": TaxContextBuilt(
        **_env("tax-context"),
        context=TaxContext(as_of=AS_OF, taxable=True, short_term_rate=D("0.3"), long_term_rate=D("0.15")),
    ),
    "calculate-rebalancing": RebalancePlanned(
        **_env("calculate-rebalancing"), plan=RebalancePlan(needs_rebalancing=True, deviations={}, trades=[TRADE])
    ),
    "execute-trades": TradesExecuted(
        **_env("execute-trades"),
        account_id="demo",
        result=ExecutionResult(executed=True, dry_run=False, fills=[_fill("t01", False), _fill("t02", True)]),
    ),
}


def _inputs(outputs: dict[str, Message] = OUTPUTS, prices: SnapshotPrices | None = PRICES) -> StepInputs:
    return StepInputs(_Steps(outputs), _Snapshots(prices, ANALYSIS))  # type: ignore[arg-type]


async def test_a_plan_command_gets_the_account_every_price_and_the_snapshots_covariance() -> None:
    command = PlanRebalanceV2(**_env("calculate-rebalancing"), as_of=AS_OF, snapshot_id=SNAP, options=PlanOptions())
    assert resolves_to(PlanRebalanceV2, PlanRebalance) and not resolves_to(PlanRebalanceV2, ExecuteTrades)
    resolved = await resolve(_inputs(), command)
    assert isinstance(resolved, PlanRebalance)
    assert resolved.account == ACCOUNT and resolved.as_of == AS_OF
    assert resolved.prices == {"BND": D("73.36"), "GLD": D("300.00"), "VTI": D("355.29")}  # every candidate
    assert resolved.tax is not None and resolved.tax.short_term_rate == D("0.3")
    assert resolved.risk is not None and resolved.risk.volatility == 0.15
    assert resolved.risk.symbols == ANALYSIS.symbols and resolved.risk.covariance == ANALYSIS.covariance
    assert (resolved.run_id, resolved.step, resolved.attempt, resolved.message_id) == (
        RUN,
        "calculate-rebalancing",
        1,
        f"{RUN}:calculate-rebalancing:1",
    )


async def test_execute_and_apply_get_the_plans_trades_and_only_real_fills() -> None:
    execute = await resolve(
        _inputs(),
        ExecuteTradesV2(**_env("execute-trades"), account_id="demo", as_of=AS_OF, snapshot_id=SNAP, dry_run=False),
    )
    assert isinstance(execute, ExecuteTrades)
    assert execute.trades == [TRADE] and execute.prices == {"BND": D("73.36")} and execute.dry_run is False
    apply = await resolve(_inputs(), ApplyFillsV2(**_env("update-portfolio"), account_id="demo", as_of=AS_OF))
    assert isinstance(apply, ApplyFills)
    assert [f.trade_id for f in apply.fills] == ["t01"]  # the simulated one is not applied
    assert apply.trades == [TRADE] and apply.review is None  # no tax-optimization output: no review


async def test_a_missing_output_or_snapshot_is_a_clear_refusal() -> None:
    without_plan = {k: v for k, v in OUTPUTS.items() if k != "calculate-rebalancing"}
    with pytest.raises(InvalidInputError, match="no stored output of calculate-rebalancing"):
        await resolve(_inputs(without_plan), ApplyFillsV2(**_env("update-portfolio"), account_id="demo", as_of=AS_OF))
    command = PlanRebalanceV2(**_env("calculate-rebalancing"), as_of=AS_OF, snapshot_id=SNAP, options=PlanOptions())
    with pytest.raises(NotFoundError, match="no prices stored"):
        await resolve(_inputs(prices=None), command)


async def test_concurrent_requests_for_a_new_snapshot_build_it_once() -> None:
    service, _ = _service()
    built: list[date] = []

    async def build(as_of: date) -> SnapshotPrices:
        built.append(as_of)
        await asyncio.sleep(0)  # let the other requests arrive while this one builds
        return PRICES

    service._build_snapshot = build  # type: ignore[method-assign]
    results = await asyncio.gather(*(service.snapshot(AS_OF) for _ in range(5)))
    assert built == [AS_OF] and all(r is PRICES for r in results)
    assert await service.snapshot(AS_OF) is PRICES and built == [AS_OF]  # then from memory
