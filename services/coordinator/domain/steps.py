"""The run's steps: their order, the service that does each, and the retry policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from contracts import STEP_NAMES, subjects

__all__ = [
    "COORDINATOR_STEPS",
    "PIVOT",
    "SERVICE_STEPS",
    "RetryPolicy",
    "index_of",
    "is_after_pivot",
]

PIVOT: Final = "execute-trades"

# step -> (service, command subject)
SERVICE_STEPS: Final[dict[str, tuple[str, str]]] = {
    "load-portfolio": ("portfolio", subjects.PORTFOLIO_LOAD),
    "fetch-market-data": ("market_data", subjects.MARKET_DATA_FETCH),
    "analyze-market-conditions": ("analysis", subjects.ANALYSIS_ANALYZE),
    "tax-context": ("tax", subjects.TAX_BUILD_CONTEXT),
    "calculate-rebalancing": ("rebalancing", subjects.REBALANCING_PLAN),
    "tax-optimization": ("tax", subjects.TAX_REVIEW_PLAN),
    "execute-trades": ("execution", subjects.EXECUTION_EXECUTE),
    "update-portfolio": ("portfolio", subjects.PORTFOLIO_APPLY_FILLS),
    "send-notifications": ("notifications", subjects.NOTIFICATIONS_NOTIFY),
}
COORDINATOR_STEPS: Final = frozenset({"should-rebalance", "approval", "generate-report"})


def index_of(step: str) -> int:
    return STEP_NAMES.index(step)


def is_after_pivot(step: str) -> bool:
    """Steps from the pivot on are retried until they succeed: orders cannot be unsent."""
    return index_of(step) >= index_of(PIVOT)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How long a step may take and how often it is tried.

    Before the pivot a step is tried ``max_attempts`` times, then the run fails. From the pivot on it
    is retried without limit. The delay before attempt ``n + 1`` is ``backoff_seconds * 2 ** (n - 1)``,
    capped at ``max_backoff_seconds``.
    """

    timeout_seconds: float = 30.0
    max_attempts: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    approval_timeout_seconds: float = 3600.0

    def delay_after(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** max(attempt - 1, 0), self.max_backoff_seconds)

    def may_retry(self, step: str, attempt: int) -> bool:
        return is_after_pivot(step) or attempt < self.max_attempts
