"""Tax handlers: the run's tax context and plan review, and the realized-gains query."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from contracts import BuildTaxContext, PlanReviewed, ReviewPlan, TaxContextBuilt, decode_as, subjects
from contracts.queries import RealizedQuery
from services.tax.adapters import (
    context_to_contract,
    evaluation_to_review,
    profile_of,
    recent_of,
    tax_account_of,
    trades_of,
)
from services.tax.domain import (
    FilingStatus,
    HarvestThresholds,
    LotMethod,
    TaxDomainError,
    TransactionError,
    build_tax_context,
    compute_realized,
    evaluate_plan,
    parse_transactions_csv,
)
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.costs import cost_model_from
from shared.errors import InvalidInputError
from shared.securities import default_securities

__all__ = ["TaxService", "realized_rows_to_csv"]


def realized_rows_to_csv(rows: list[dict[str, str]]) -> list[str]:
    """The query's JSON rows as the CLI's CSV lines (same parser, same errors, same result)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\n') else value

    return [
        ",".join(cell(c) for c in columns) + "\n",
        *(",".join(cell(row.get(c, "")) for c in columns) + "\n" for row in rows),
    ]


class TaxService:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.securities = default_securities()
        costs = cost_model_from(runtime.settings)  # the shared cost model: a harvest pays a round trip
        self.thresholds = HarvestThresholds(trading_cost_bps=costs.rate * 10_000)
        # The realized-gains query can be long (up to 100,000 rows): one worker thread runs it, so the
        # event loop keeps serving the run's commands meanwhile, and large queries queue instead of piling up.
        self._realized_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tax-realized")

    def register(self) -> None:
        self.runtime.command(subjects.TAX_BUILD_CONTEXT, BuildTaxContext, self.build_context)
        self.runtime.command(subjects.TAX_REVIEW_PLAN, ReviewPlan, self.review_plan)
        self.runtime.query(subjects.TAX_QUERY_REALIZED, self.realized)

    async def build_context(self, command: BuildTaxContext) -> Sequence[Outgoing]:
        context = build_tax_context(
            account=tax_account_of(command.account),
            prices=command.prices,
            as_of=command.as_of,
            profile=profile_of(command.account.tax_profile),
            household_transactions=recent_of(command.household_activity),
            thresholds=self.thresholds,
            securities=self.securities,
        )
        event = TaxContextBuilt(
            **result_envelope(command, self.runtime.clock.now()),
            context=context_to_contract(context),
        )
        return [Outgoing(subjects.TAX_CONTEXT_BUILT, event, event.message_id)]

    async def review_plan(self, command: ReviewPlan) -> Sequence[Outgoing]:
        prices = {lot.symbol: lot.price for lot in command.context.lots}
        prices.update({t.symbol: t.price for t in command.plan.trades})
        context = build_tax_context(
            account=tax_account_of(command.account),
            prices=prices,
            as_of=command.as_of,
            profile=profile_of(command.account.tax_profile),
            household_transactions=recent_of(command.household_activity),
            thresholds=self.thresholds,
            securities=self.securities,
        )
        sells, buys = trades_of(command.plan.trades)
        try:
            evaluation = evaluate_plan(context, sells=sells, buys=buys, securities=self.securities)
        except TaxDomainError as exc:
            raise InvalidInputError(f"the plan cannot be evaluated: {exc}") from None
        acquired = {lot.lot_id: lot.acquired for lot in command.account.lots}
        event = PlanReviewed(
            **result_envelope(command, self.runtime.clock.now()),
            review=evaluation_to_review(evaluation, context, command.as_of, acquired),
        )
        return [Outgoing(subjects.TAX_PLAN_REVIEWED, event, event.message_id)]

    async def realized(self, body: bytes) -> object:
        query = decode_as(body, RealizedQuery)
        return await asyncio.get_running_loop().run_in_executor(self._realized_worker, self.realized_sync, query)

    def realized_sync(self, query: RealizedQuery) -> object:
        """The realized-gains computation (pure, CPU-bound; runs on the worker thread)."""
        try:
            transactions = parse_transactions_csv(realized_rows_to_csv(query.transactions))
            result = compute_realized(
                transactions,
                method=LotMethod.parse(query.method),
                securities=self.securities,
                filing_status=FilingStatus.parse(query.filing_status),
            )
        except TransactionError as exc:
            raise InvalidInputError(str(exc)) from None
        except (TaxDomainError, ValueError) as exc:
            raise InvalidInputError(str(exc)) from None
        return result.to_json_dict()
