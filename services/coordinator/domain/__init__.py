"""The saga's pure domain: run transitions, decisions, commands, effects and the report."""

from services.coordinator.domain.batch import finish_run, new_batch, released_between, unique_accounts
from services.coordinator.domain.commands import build_command, market_symbols, prices_of, weights_of
from services.coordinator.domain.decisions import should_rebalance
from services.coordinator.domain.effects import (
    Effects,
    ScheduledTimer,
    effects,
    final_effects,
    resume_effects,
)
from services.coordinator.domain.report import build_report
from services.coordinator.domain.steps import (
    COORDINATOR_STEPS,
    PIVOT,
    SERVICE_STEPS,
    RetryPolicy,
    is_after_pivot,
)
from services.coordinator.domain.transitions import (
    apply_approval,
    apply_cancel,
    apply_failure,
    apply_result,
    apply_timer,
    refuse_busy,
    start_run,
)

__all__ = [
    "COORDINATOR_STEPS",
    "PIVOT",
    "SERVICE_STEPS",
    "Effects",
    "RetryPolicy",
    "ScheduledTimer",
    "apply_approval",
    "apply_cancel",
    "apply_failure",
    "apply_result",
    "apply_timer",
    "build_command",
    "build_report",
    "effects",
    "final_effects",
    "finish_run",
    "is_after_pivot",
    "market_symbols",
    "new_batch",
    "prices_of",
    "refuse_busy",
    "released_between",
    "resume_effects",
    "should_rebalance",
    "start_run",
    "unique_accounts",
    "weights_of",
]
