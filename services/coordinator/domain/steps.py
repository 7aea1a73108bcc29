"""The run's steps: their order, the service that does each, and the retry policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from contracts import STEP_NAMES, RunRecord, batch_of_source, subjects

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
    block_orders: bool = False
    """The live runs of a batch trade as block orders (``BLOCK_ORDERS``): see :func:`in_block`."""
    block_wait_seconds: float = 3600.0
    """The ``execute-trades`` deadline of a run in a block: it waits there for the batch's other accounts."""

    def in_block(self, record: RunRecord) -> bool:
        """Whether ``record``'s trades go out in its batch's block orders: block orders on, a live run of
        a batch."""
        return self.block_orders and not record.request.dry_run and batch_of_source(record.source) is not None

    def step_timeout(self, record: RunRecord, step: str) -> float:
        """How long ``step`` of ``record`` may take before its deadline fires."""
        if step == PIVOT and self.in_block(record):
            return max(self.block_wait_seconds, self.timeout_seconds)
        return self.timeout_seconds

    def delay_after(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** max(attempt - 1, 0), self.max_backoff_seconds)

    def may_retry(self, step: str, attempt: int) -> bool:
        return is_after_pivot(step) or attempt < self.max_attempts
