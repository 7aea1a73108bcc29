"""The rebalancing handler: plan a run's trades with the tax-aware engine."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from contracts import PlanRebalance, RebalancePlanned, subjects
from contracts import RebalancePlan as ContractPlan
from services.rebalancing.adapters import (
    account_of,
    covariance_of,
    options_of,
    plan_to_contract,
    tax_inputs_of,
)
from services.rebalancing.domain import PlanningError, plan_rebalance
from services.rebalancing.risk_change import holdings_after, volatility
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.costs import cost_model_from
from shared.errors import InvalidInputError
from shared.metrics import SOLVER_SECONDS
from shared.securities import default_securities

__all__ = ["RebalancingService"]


class RebalancingService:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.costs = cost_model_from(settings)
        self.securities = default_securities()

    def register(self) -> None:
        self.runtime.command(subjects.REBALANCING_PLAN, PlanRebalance, self.plan)

    @staticmethod
    def _with_risk(plan: ContractPlan, command: PlanRebalance) -> ContractPlan:
        account, prices, risk = command.account, command.prices, command.risk
        held = holdings_after(account, [])
        after = holdings_after(account, plan.trades)
        cash_after = account.cash + sum((t.value if t.action == "sell" else -t.value for t in plan.trades), Decimal(0))
        return msgspec.structs.replace(
            plan,
            volatility_before=volatility(held, account.cash, prices, risk),
            volatility_after=volatility(after, cash_after, prices, risk),
        )

    async def plan(self, command: PlanRebalance) -> Sequence[Outgoing]:
        account = command.account
        tax = tax_inputs_of(command.tax, account, command.as_of)
        started = time.perf_counter()
        try:
            plan = plan_rebalance(
                account_of(account),
                command.prices,
                as_of=command.as_of,
                options=options_of(command.options, account, costs=self.costs),
                tax=tax,
                covariance=covariance_of(command.risk),
                securities=self.securities,
            )
        except PlanningError as exc:
            raise InvalidInputError(f"cannot plan account {account.account_id}: {exc}") from None
        SOLVER_SECONDS.observe(time.perf_counter() - started)
        event = RebalancePlanned(
            **result_envelope(command, self.runtime.clock.now()),
            plan=self._with_risk(plan_to_contract(plan, account, command.prices, tax, self.securities), command),
        )
        return [Outgoing(subjects.REBALANCING_PLANNED, event, event.message_id)]
