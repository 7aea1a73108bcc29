"""Every NATS subject, stream and bucket name of the system. No other module writes a subject string.

Naming: ``<domain>.v<major>.<kind>.<name>``. Commands are named after the receiving service
(``portfolio.v1.cmd.load``), events after the emitting one (``portfolio.v1.evt.loaded``). The public
subjects other systems use are stable API: :data:`REBALANCE_REQUESTED`, :data:`TRADE_EXECUTED`,
:data:`TRADE_REJECTED`, :data:`REPORT_GENERATED`, :data:`RUN_COMPLETED`, :data:`RUN_FAILED`, and
:data:`REBALANCE_BATCH_REQUESTED` (a batch of runs).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ANALYSIS_ANALYZE",
    "ANALYSIS_ANALYZED",
    "ANALYSIS_QUERY_MARKET",
    "ANALYSIS_QUERY_RISK",
    "BUNDLE_SUBJECTS",
    "COMMAND_SUBJECTS",
    "COORDINATOR_QUERY_SCHEDULES",
    "DLQ_PREFIX",
    "EVENTS_ALL",
    "EVENT_SUBJECTS",
    "EXECUTION_EXECUTE",
    "EXECUTION_EXECUTED",
    "EXECUTION_QUERY_RECONCILE",
    "KV_BATCHES",
    "KV_EXECUTIONS",
    "KV_ORDERS",
    "KV_PORTFOLIOS",
    "KV_RECONCILE",
    "KV_RUNS",
    "KV_SNAPSHOTS",
    "KV_STEPS",
    "MARKET_DATA_FETCH",
    "MARKET_DATA_FETCHED",
    "MARKET_DATA_QUERY_HISTORY",
    "MARKET_DATA_QUERY_QUOTES",
    "NOTIFICATIONS_NOTIFIED",
    "NOTIFICATIONS_NOTIFY",
    "PORTFOLIO_APPLY_FILLS",
    "PORTFOLIO_FILLS_APPLIED",
    "PORTFOLIO_LOAD",
    "PORTFOLIO_LOADED",
    "PORTFOLIO_QUERY_ACCOUNTS",
    "PORTFOLIO_QUERY_BOOK",
    "PORTFOLIO_QUERY_BOOK_OBJECT",
    "PORTFOLIO_QUERY_BROKER_BOOK",
    "PORTFOLIO_QUERY_FORM8949",
    "PORTFOLIO_QUERY_LOAD_BOOK",
    "PORTFOLIO_QUERY_LOTS",
    "PORTFOLIO_QUERY_PUT_ACCOUNTS",
    "PORTFOLIO_QUERY_RECORD_TRANSACTION",
    "PORTFOLIO_QUERY_STATUS",
    "PORTFOLIO_QUERY_TRANSACTIONS",
    "PUBLIC_SUBJECTS",
    "REBALANCE_BATCH_REQUESTED",
    "REBALANCE_REQUESTED",
    "REBALANCING_PLAN",
    "REBALANCING_PLANNED",
    "REPORT_GENERATED",
    "RUN_APPROVAL_DECIDED",
    "RUN_CANCEL_REQUESTED",
    "RUN_COMPLETED",
    "RUN_FAILED",
    "RUN_TIMER_SCHEDULES",
    "SCHEDULE_DEFINITIONS",
    "SERVICES",
    "STREAM_CMD",
    "STREAM_DLQ",
    "STREAM_DLQ_ADVISORIES",
    "STREAM_EVT",
    "STREAM_TIMERS",
    "TAX_BUILD_CONTEXT",
    "TAX_CONTEXT_BUILT",
    "TAX_PLAN_REVIEWED",
    "TAX_QUERY_REALIZED",
    "TAX_REVIEW_PLAN",
    "TIMERS_ALL",
    "TIMER_FIRE_ALL",
    "TRADE_EXECUTED",
    "TRADE_REJECTED",
    "bundle_subject",
    "commands_of",
    "dlq_subject",
    "events_of",
    "run_timer_schedule",
    "schedule_definition",
    "schedule_fire",
    "step_failed",
    "step_results",
    "stream_of",
    "timer_fire",
    "timer_schedule",
]

# The services that receive commands and emit events (subject prefixes).
SERVICES: Final = ("portfolio", "market_data", "analysis", "tax", "rebalancing", "execution", "notifications")

# Streams and key-value buckets (DESIGN.md section 4).
STREAM_CMD: Final = "CMD"
STREAM_EVT: Final = "EVT"
STREAM_TIMERS: Final = "TIMERS"
STREAM_DLQ: Final = "DLQ"
STREAM_DLQ_ADVISORIES: Final = "DLQ_ADVISORIES"
KV_RUNS: Final = "runs"
KV_PORTFOLIOS: Final = "portfolios"
KV_ORDERS: Final = "orders"
KV_EXECUTIONS: Final = "executions"
KV_RECONCILE: Final = "reconcile"
KV_BATCHES: Final = "batches"
KV_STEPS: Final = "steps"
"""Each step's output, once, under ``<run_id>.<step>`` (history 1; expires with its run)."""
KV_SNAPSHOTS: Final = "snapshots"
"""Market snapshots by content key: ``<snapshot_id>.prices`` and ``<snapshot_id>.analysis``."""

# Public, stable API.
REBALANCE_REQUESTED: Final = "rebalance.v1.requested"
REBALANCE_BATCH_REQUESTED: Final = "rebalance.v1.batch"
TRADE_EXECUTED: Final = "trade.v1.executed"
TRADE_REJECTED: Final = "trade.v1.rejected"
REPORT_GENERATED: Final = "report.v1.generated"
RUN_COMPLETED: Final = "run.v1.completed"
RUN_FAILED: Final = "run.v1.failed"
RUN_CANCEL_REQUESTED: Final = "run.v1.cancel"
RUN_APPROVAL_DECIDED: Final = "run.v1.approval"

# Commands (stream CMD, work queue): <svc>.v1.cmd.<verb>.
PORTFOLIO_LOAD: Final = "portfolio.v1.cmd.load"
PORTFOLIO_APPLY_FILLS: Final = "portfolio.v1.cmd.apply-fills"
MARKET_DATA_FETCH: Final = "market_data.v1.cmd.fetch"
ANALYSIS_ANALYZE: Final = "analysis.v1.cmd.analyze"
TAX_BUILD_CONTEXT: Final = "tax.v1.cmd.build-context"
TAX_REVIEW_PLAN: Final = "tax.v1.cmd.review-plan"
REBALANCING_PLAN: Final = "rebalancing.v1.cmd.plan"
EXECUTION_EXECUTE: Final = "execution.v1.cmd.execute"
NOTIFICATIONS_NOTIFY: Final = "notifications.v1.cmd.notify"

# Events (stream EVT, fan-out): <svc>.v1.evt.<fact>.
PORTFOLIO_LOADED: Final = "portfolio.v1.evt.loaded"
PORTFOLIO_FILLS_APPLIED: Final = "portfolio.v1.evt.fills-applied"
MARKET_DATA_FETCHED: Final = "market_data.v1.evt.fetched"
ANALYSIS_ANALYZED: Final = "analysis.v1.evt.analyzed"
TAX_CONTEXT_BUILT: Final = "tax.v1.evt.context-built"
TAX_PLAN_REVIEWED: Final = "tax.v1.evt.plan-reviewed"
REBALANCING_PLANNED: Final = "rebalancing.v1.evt.planned"
EXECUTION_EXECUTED: Final = "execution.v1.evt.executed"
NOTIFICATIONS_NOTIFIED: Final = "notifications.v1.evt.notified"

# Queries (core NATS request-reply, not stored): <svc>.v1.query.<name>.
PORTFOLIO_QUERY_STATUS: Final = "portfolio.v1.query.status"
PORTFOLIO_QUERY_ACCOUNTS: Final = "portfolio.v1.query.accounts"
PORTFOLIO_QUERY_BROKER_BOOK: Final = "portfolio.v1.query.broker-book"
EXECUTION_QUERY_RECONCILE: Final = "execution.v1.query.reconcile"
PORTFOLIO_QUERY_BOOK: Final = "portfolio.v1.query.book"
PORTFOLIO_QUERY_LOTS: Final = "portfolio.v1.query.lots"
PORTFOLIO_QUERY_TRANSACTIONS: Final = "portfolio.v1.query.transactions"
PORTFOLIO_QUERY_FORM8949: Final = "portfolio.v1.query.form8949"
PORTFOLIO_QUERY_BOOK_OBJECT: Final = "portfolio.v1.query.book-object"
"""One account, household or model as a document with its revision (:mod:`contracts.book`)."""
PORTFOLIO_QUERY_PUT_ACCOUNTS: Final = "portfolio.v1.query.put-accounts"
"""Write many accounts, households and models at once: validated first, all or nothing, idempotent."""
PORTFOLIO_QUERY_LOAD_BOOK: Final = "portfolio.v1.query.load-book"
"""Apply a household file or a book (replace or merge)."""
PORTFOLIO_QUERY_RECORD_TRANSACTION: Final = "portfolio.v1.query.record-transaction"
"""An outside trade, a deposit or a withdrawal of one account."""
MARKET_DATA_QUERY_QUOTES: Final = "market_data.v1.query.quotes"
MARKET_DATA_QUERY_HISTORY: Final = "market_data.v1.query.history"
ANALYSIS_QUERY_MARKET: Final = "analysis.v1.query.market"
ANALYSIS_QUERY_RISK: Final = "analysis.v1.query.risk"
TAX_QUERY_REALIZED: Final = "tax.v1.query.realized"
COORDINATOR_QUERY_SCHEDULES: Final = "coordinator.v1.query.schedules"

# Timers (stream TIMERS, message schedules on).
TIMER_FIRE_ALL: Final = "run.v1.timer.fire.>"
DLQ_PREFIX: Final = "dlq.v1"

COMMAND_SUBJECTS: Final = (
    PORTFOLIO_LOAD,
    PORTFOLIO_APPLY_FILLS,
    MARKET_DATA_FETCH,
    ANALYSIS_ANALYZE,
    TAX_BUILD_CONTEXT,
    TAX_REVIEW_PLAN,
    REBALANCING_PLAN,
    EXECUTION_EXECUTE,
    NOTIFICATIONS_NOTIFY,
)


def bundle_subject(command_subject: str) -> str:
    """Where a step's command bundles travel (``<svc>.v1.cmd.<verb>.bundle``, stream CMD, its own durable
    consumer): apart from the step's single commands, so a single run never waits behind a batch's bundle."""
    return f"{command_subject}.bundle"


BUNDLE_SUBJECTS: Final = tuple(bundle_subject(subject) for subject in COMMAND_SUBJECTS)
"""The command bundle subject of every step's command subject (:mod:`contracts.bundles`)."""
EVENT_SUBJECTS: Final = (
    PORTFOLIO_LOADED,
    PORTFOLIO_FILLS_APPLIED,
    MARKET_DATA_FETCHED,
    ANALYSIS_ANALYZED,
    TAX_CONTEXT_BUILT,
    TAX_PLAN_REVIEWED,
    REBALANCING_PLANNED,
    EXECUTION_EXECUTED,
    NOTIFICATIONS_NOTIFIED,
)
PUBLIC_SUBJECTS: Final = (
    REBALANCE_REQUESTED,
    REBALANCE_BATCH_REQUESTED,
    TRADE_EXECUTED,
    TRADE_REJECTED,
    REPORT_GENERATED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_CANCEL_REQUESTED,
    RUN_APPROVAL_DECIDED,
)


TIMERS_ALL: Final = "run.v1.timer.>"
EVENTS_ALL: Final = "*.v1.evt.>"
"""Every service's events: a consumer filter (a stream may not list it: ``*`` would also match ``$JS``)."""


def commands_of(service: str) -> str:
    """Every command to ``service``: ``<svc>.v1.cmd.>``."""
    return f"{service}.v1.cmd.>"


def events_of(service: str) -> str:
    """Every event of ``service``: ``<svc>.v1.evt.>``."""
    return f"{service}.v1.evt.>"


def step_failed(service: str) -> str:
    """The event a service emits when it cannot do a step: ``<svc>.v1.evt.step-failed``."""
    return f"{service}.v1.evt.step-failed"


def step_results(service: str) -> str:
    """The bundles of step results a service answers a command bundle with: ``<svc>.v1.evt.step-results``
    (:mod:`contracts.bundles`)."""
    return f"{service}.v1.evt.step-results"


def timer_schedule(run_id: str, step: str) -> str:
    """The subject holding the one schedule of a run's step (re-publishing replaces it)."""
    return f"run.v1.timer.schedule.{run_id}.{step}"


def run_timer_schedule(run_id: str) -> str:
    """The subject holding a run's one pending timer (its current step's deadline or retry time).

    Each new timer of the run replaces the previous one (a message schedule is keyed by its subject), so
    a finished step's deadline never fires; the coordinator purges the subject when the run ends."""
    return f"run.v1.timer.schedule.{run_id}"


RUN_TIMER_SCHEDULES: Final = "run.v1.timer.schedule.*"
"""Every run's pending timer (cron definitions have one token more and are not matched)."""


def timer_fire(run_id: str, step: str) -> str:
    """The subject the server publishes a step's timer to when it fires."""
    return f"run.v1.timer.fire.{run_id}.{step}"


def schedule_definition(name: str) -> str:
    """The subject holding cron schedule ``name`` (its message carries the schedule and the run template)."""
    return f"run.v1.timer.schedule.cron.{name}"


def schedule_fire(name: str) -> str:
    """The subject the server publishes schedule ``name`` to at each tick."""
    return f"run.v1.timer.fire.cron.{name}"


SCHEDULE_DEFINITIONS: Final = "run.v1.timer.schedule.cron.>"


def stream_of(subject: str) -> str:
    """The stream that stores ``subject``: publishing through it waits for the stream's ack."""
    if subject.startswith("run.v1.timer."):
        return STREAM_TIMERS
    if subject.startswith(DLQ_PREFIX + "."):
        return STREAM_DLQ
    domain, _, kind = [*subject.split("."), "", "", ""][:3]
    if domain in SERVICES and kind == "cmd":
        return STREAM_CMD
    if (domain in SERVICES and kind == "evt") or subject in PUBLIC_SUBJECTS:
        return STREAM_EVT
    raise ValueError(f"no stream stores {subject!r}")


def dlq_subject(original_subject: str) -> str:
    """Where a poisoned message of ``original_subject`` is captured, with the reason in a header."""
    return f"{DLQ_PREFIX}.{original_subject}"
