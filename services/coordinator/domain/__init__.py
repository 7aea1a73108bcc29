"""The saga's pure domain: run transitions, decisions, commands, effects and the report."""

from services.coordinator.domain.batch import finish_run, new_batch, released_between, unique_accounts
from services.coordinator.domain.commands import build_command
from services.coordinator.domain.decisions import should_rebalance
from services.coordinator.domain.effects import (
    Effects,
    ScheduledTimer,
    due_by,
    effects,
    final_effects,
    resume_effects,
)
from services.coordinator.domain.report import ReportInputs, build_report
from services.coordinator.domain.steps import (
    COORDINATOR_STEPS,
    PIVOT,
    SERVICE_STEPS,
    RetryPolicy,
    is_after_pivot,
)
from services.coordinator.domain.transitions import (
    STORED_OUTPUTS,
    apply_approval,
    apply_cancel,
    apply_failure,
    apply_report,
    apply_result,
    apply_timer,
    refuse_busy,
    start_run,
)

__all__ = [
    "COORDINATOR_STEPS",
    "PIVOT",
    "SERVICE_STEPS",
    "STORED_OUTPUTS",
    "Effects",
    "ReportInputs",
    "RetryPolicy",
    "ScheduledTimer",
    "apply_approval",
    "apply_cancel",
    "apply_failure",
    "apply_report",
    "apply_result",
    "apply_timer",
    "build_command",
    "build_report",
    "due_by",
    "effects",
    "final_effects",
    "finish_run",
    "is_after_pivot",
    "new_batch",
    "refuse_busy",
    "released_between",
    "resume_effects",
    "should_rebalance",
    "start_run",
    "unique_accounts",
]
