"""Turn a version-2 step command (references) into the version-1 command its handler takes (values).

A v2 command names the run and the market snapshot; what the step needs is read from the stored outputs
of the earlier steps (:class:`~shared.bus.steps.StepStore`) and from the snapshot
(:class:`~shared.bus.snapshots.SnapshotStore`), both cached in memory. The service runtime calls
:func:`resolve` before the handler, so handlers keep one input type, and a v1 command sent by a client
still works as is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from contracts import (
    AnalyzeMarket,
    AnalyzeMarketV2,
    ApplyFills,
    ApplyFillsV2,
    BuildTaxContext,
    BuildTaxContextV2,
    Command,
    ExecuteTrades,
    ExecuteTradesV2,
    MarketAnalyzed,
    PlanRebalance,
    PlanRebalanceV2,
    PlanReviewed,
    PortfolioLoaded,
    PortfolioRisk,
    RebalancePlanned,
    ReviewPlan,
    ReviewPlanV2,
    SnapshotAnalysis,
    TaxContextBuilt,
    TradesExecuted,
)
from shared.bus.snapshots import SnapshotStore
from shared.bus.steps import StepStore
from shared.holdings import values_by_symbol

__all__ = ["RESOLVES", "StepInputs", "resolve", "weights_at"]


class StepInputs:
    """Where a service reads the inputs of a step: stored step outputs and market snapshots."""

    def __init__(self, steps: StepStore, snapshots: SnapshotStore) -> None:
        self.steps = steps
        self.snapshots = snapshots

    async def loaded(self, command: Command) -> PortfolioLoaded:
        return await self.steps.get(command.run_id, "load-portfolio", PortfolioLoaded)

    async def plan(self, command: Command) -> RebalancePlanned:
        return await self.steps.get(command.run_id, "calculate-rebalancing", RebalancePlanned)


def _envelope(command: Command) -> dict[str, Any]:
    return {
        "run_id": command.run_id,
        "message_id": command.message_id,
        "occurred_at": command.occurred_at,
        "step": command.step,
        "attempt": command.attempt,
    }


def weights_at(loaded: PortfolioLoaded, prices: dict[str, Any]) -> dict[str, Any]:
    """Weights of the invested value by symbol (cash excluded) at ``prices``."""
    values = values_by_symbol((lot for lot in loaded.account.lots if lot.symbol in prices), prices)
    total = sum(values.values())
    if total <= 0:
        return {}
    return {symbol: value / total for symbol, value in sorted(values.items())}


def risk_with_covariance(risk: PortfolioRisk | None, analysis: SnapshotAnalysis) -> PortfolioRisk | None:
    """The account's risk with the snapshot's covariance (the optimizer's tracking-error term)."""
    if risk is None:
        return None
    return msgspec.structs.replace(risk, symbols=list(analysis.symbols), covariance=analysis.covariance)


async def _analyze(inputs: StepInputs, command: AnalyzeMarketV2) -> AnalyzeMarket:
    loaded = await inputs.loaded(command)
    prices = (await inputs.snapshots.prices(command.snapshot_id)).prices()
    return AnalyzeMarket(
        **_envelope(command), as_of=command.as_of, weights=weights_at(loaded, prices), snapshot_id=command.snapshot_id
    )


async def _tax_context(inputs: StepInputs, command: BuildTaxContextV2) -> BuildTaxContext:
    loaded = await inputs.loaded(command)
    prices = await inputs.snapshots.prices(command.snapshot_id)
    return BuildTaxContext(
        **_envelope(command),
        account=loaded.account,
        household_activity=loaded.household_activity,
        prices=prices.prices(),
        as_of=command.as_of,
    )


async def _plan(inputs: StepInputs, command: PlanRebalanceV2) -> PlanRebalance:
    loaded = await inputs.loaded(command)
    prices = await inputs.snapshots.prices(command.snapshot_id)
    analysis = await inputs.snapshots.analysis(command.snapshot_id)
    analyzed = await inputs.steps.get(command.run_id, "analyze-market-conditions", MarketAnalyzed)
    context = await inputs.steps.find(command.run_id, "tax-context")
    return PlanRebalance(
        **_envelope(command),
        account=loaded.account,
        prices=prices.prices(),
        as_of=command.as_of,
        options=command.options,
        tax=context.context if isinstance(context, TaxContextBuilt) else None,
        risk=risk_with_covariance(analyzed.risk, analysis),
    )


async def _review(inputs: StepInputs, command: ReviewPlanV2) -> ReviewPlan:
    loaded = await inputs.loaded(command)
    context = await inputs.steps.get(command.run_id, "tax-context", TaxContextBuilt)
    planned = await inputs.plan(command)
    return ReviewPlan(
        **_envelope(command),
        account=loaded.account,
        household_activity=loaded.household_activity,
        context=context.context,
        plan=planned.plan,
        as_of=command.as_of,
    )


async def _execute(inputs: StepInputs, command: ExecuteTradesV2) -> ExecuteTrades:
    planned = await inputs.plan(command)
    prices = await inputs.snapshots.prices(command.snapshot_id)
    traded = {t.symbol for t in planned.plan.trades}
    return ExecuteTrades(
        **_envelope(command),
        account_id=command.account_id,
        as_of=command.as_of,
        trades=planned.plan.trades,
        prices={s: p for s, p in prices.prices().items() if s in traded},
        dry_run=command.dry_run,
        batch_id=command.batch_id,
        block=command.block,
        block_size=command.block_size,
    )


async def _apply(inputs: StepInputs, command: ApplyFillsV2) -> ApplyFills:
    planned = await inputs.plan(command)
    executed = await inputs.steps.get(command.run_id, "execute-trades", TradesExecuted)
    reviewed = await inputs.steps.find(command.run_id, "tax-optimization")
    return ApplyFills(
        **_envelope(command),
        account_id=command.account_id,
        as_of=command.as_of,
        trades=planned.plan.trades,
        fills=[f for f in executed.result.fills if not f.simulated],
        review=reviewed.review if isinstance(reviewed, PlanReviewed) else None,
    )


Resolver = Callable[[StepInputs, Any], Awaitable[Command]]
RESOLVES: dict[type[Command], tuple[type[Command], Resolver]] = {
    AnalyzeMarketV2: (AnalyzeMarket, _analyze),
    BuildTaxContextV2: (BuildTaxContext, _tax_context),
    PlanRebalanceV2: (PlanRebalance, _plan),
    ReviewPlanV2: (ReviewPlan, _review),
    ExecuteTradesV2: (ExecuteTrades, _execute),
    ApplyFillsV2: (ApplyFills, _apply),
}
"""v2 command type -> (the v1 type it becomes, how)."""


def resolves_to(command_type: type[Command], target: type[Command]) -> bool:
    entry = RESOLVES.get(command_type)
    return entry is not None and entry[0] is target


async def resolve(inputs: StepInputs, command: Command) -> Command:
    """The v1 command of a v2 ``command`` (any other command is returned as is)."""
    entry = RESOLVES.get(type(command))
    if entry is None:
        return command
    return await entry[1](inputs, command)
