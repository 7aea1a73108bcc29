"""Who may answer a step: a result counts only from the subject of the service that owns the step.

Trust comes from the subject (each service's NATS user may publish only its own ``<svc>.v1.evt.>``),
never from the payload: a ``TradesExecuted`` published on the tax service's subject is forged, whatever
it says. Whether the run awaits that step and attempt is the transitions' business (``_accepts``).
"""

from __future__ import annotations

from typing import Final

from contracts import (
    Event,
    FillsApplied,
    MarketAnalyzed,
    MarketDataFetched,
    MarketDataFetchedV2,
    Notified,
    PlanReviewed,
    PortfolioLoaded,
    RebalancePlanned,
    ResultBundle,
    StepFailed,
    TaxContextBuilt,
    TradesExecuted,
    subjects,
)
from services.coordinator.domain.steps import SERVICE_STEPS

__all__ = ["RESULT_OF", "bundle_problem", "entry_problem", "result_problem"]

# result type -> (the step it answers, the only subject it may arrive on)
RESULT_OF: Final[dict[type, tuple[str, str]]] = {
    PortfolioLoaded: ("load-portfolio", subjects.PORTFOLIO_LOADED),
    MarketDataFetched: ("fetch-market-data", subjects.MARKET_DATA_FETCHED),
    MarketDataFetchedV2: ("fetch-market-data", subjects.MARKET_DATA_FETCHED),
    MarketAnalyzed: ("analyze-market-conditions", subjects.ANALYSIS_ANALYZED),
    TaxContextBuilt: ("tax-context", subjects.TAX_CONTEXT_BUILT),
    RebalancePlanned: ("calculate-rebalancing", subjects.REBALANCING_PLANNED),
    PlanReviewed: ("tax-optimization", subjects.TAX_PLAN_REVIEWED),
    TradesExecuted: ("execute-trades", subjects.EXECUTION_EXECUTED),
    FillsApplied: ("update-portfolio", subjects.PORTFOLIO_FILLS_APPLIED),
    Notified: ("send-notifications", subjects.NOTIFICATIONS_NOTIFIED),
}


def result_problem(subject: str, event: object) -> str | None:
    """Why ``event``, received on ``subject``, cannot answer a step; ``None`` when it may."""
    name = type(event).__name__
    if isinstance(event, StepFailed):
        owner = SERVICE_STEPS.get(event.step)
        if owner is None:
            return f"step-failed for {event.step!r}, which no service does"
        expected = subjects.step_failed(owner[0])
        if subject != expected or event.service != owner[0]:
            return f"a failure of {event.step} comes from {owner[0]} on {expected}, not on {subject}"
        return None
    if type(event) not in RESULT_OF:
        return f"{name} is not a step result"
    step, expected = RESULT_OF[type(event)]
    if getattr(event, "step", None) != step:
        return f"{name} answers {step}, not {getattr(event, 'step', None)!r}"
    if subject != expected:
        return f"{name} ({step}) comes from {SERVICE_STEPS[step][0]} on {expected}, not on {subject}"
    return None


def bundle_problem(subject: str, bundle: ResultBundle) -> str | None:
    """Why a result bundle received on ``subject`` cannot answer its step (``None`` when it may): it must
    come from the service that owns the step, on that service's ``step-results`` subject."""
    owner = SERVICE_STEPS.get(bundle.step)
    if owner is None:
        return f"a result bundle for {bundle.step!r}, which no service does"
    expected = subjects.step_results(owner[0])
    if subject != expected or bundle.service != owner[0]:
        return f"results of {bundle.step} come from {owner[0]} on {expected}, not from {bundle.service!r} on {subject}"
    return None


def entry_problem(bundle: ResultBundle, event: object) -> str | None:
    """Why one entry of a trusted bundle cannot count: another step, or a type the step's owner does not
    answer it with (checked as if it had come alone on the owner's subject)."""
    if not isinstance(event, Event):
        return f"{type(event).__name__} is not a step result"
    if event.step != bundle.step:
        return f"a bundle of {bundle.step} holds a result of {event.step!r}"
    owner = SERVICE_STEPS[bundle.step][0]
    if isinstance(event, StepFailed):
        return result_problem(subjects.step_failed(owner), event)
    entry = RESULT_OF.get(type(event))
    return result_problem(entry[1], event) if entry else f"{type(event).__name__} is not a step result"
