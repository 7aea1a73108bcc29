"""Build the coordinator from settings: ``python -m services.coordinator``."""

from __future__ import annotations

from contracts import RunRecord
from services.coordinator.domain import RetryPolicy
from services.coordinator.handlers import Coordinator
from services.coordinator.schedule_queries import register_schedule_queries
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.log import get_logger
from shared.settings import Settings

__all__ = ["build"]

log = get_logger("coordinator")


async def _log_success(record: RunRecord) -> None:
    report = record.report
    log.info(
        "portfolio rebalancing completed",
        run_id=record.run_id,
        account_id=record.request.account_id,
        executed=bool(report and report.execution.executed),
        trades=len(report.actions) if report else 0,
    )


async def _log_failure(record: RunRecord) -> None:
    log.error("portfolio rebalancing failed", run_id=record.run_id, step=record.failed_step, error=record.error)


def build(settings: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, Coordinator]:
    runtime = ServiceRuntime("coordinator", settings, clock=clock)
    policy = RetryPolicy(
        timeout_seconds=settings.step_timeout_seconds,
        max_attempts=settings.step_max_attempts,
        backoff_seconds=settings.retry_backoff_seconds,
        approval_timeout_seconds=settings.approval_timeout_seconds,
        block_orders=settings.blocks_on,
        block_wait_seconds=settings.block_wait_seconds,
    )
    coordinator = Coordinator(runtime, policy, on_success=[_log_success], on_failure=[_log_failure])
    coordinator.register()
    register_schedule_queries(runtime)
    return runtime, coordinator
