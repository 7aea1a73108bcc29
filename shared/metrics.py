"""Prometheus metrics of every process (``prometheus_client``, the default registry).

FastStream's ``NatsPrometheusMiddleware`` on each broker counts and times every message received and
published (``faststream_*``); the domain metrics below say what the system does:

- ``rebalancer_commands_total{service,subject,outcome}``: commands handled (``ok``, ``retry``,
  ``failed``: answered with step-failed, ``dlq``)
- ``rebalancer_step_seconds{service,subject}``: how long a service takes to handle a step's command
- ``rebalancer_dlq_messages_total{service,subject}``: messages captured in the DLQ
- ``rebalancer_runs_total{status}``: runs finished, by final status (coordinator)
- ``rebalancer_trades_total{side,kind}``: trades of finished runs (``executed`` or ``simulated``)
- ``rebalancer_realized_dollars_total{term,kind}``: gains and losses (``kind``) realized by executed sells
- ``rebalancer_reconcile_breaks_total{broker_account}``: reconciliation breaks found (execution)
- ``rebalancer_solver_seconds``: the planner's time per account (rebalancing)
- ``rebalancer_http_requests_total{method,route,status}``, ``rebalancer_http_request_seconds{method,route}``
  (gateway)

A service serves them on ``METRICS_PORT`` (``make run`` gives each its own port, listed in the README);
the gateway on its own HTTP port at ``/metrics``.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server

from contracts import Report
from shared.log import get_logger

__all__ = [
    "COMMANDS",
    "DLQ_MESSAGES",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "REALIZED_GAIN",
    "RECONCILE_BREAKS",
    "RUNS",
    "SOLVER_SECONDS",
    "STEP_SECONDS",
    "TRADES",
    "observe_finished_run",
    "serve_metrics",
]

_FAST: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

COMMANDS = Counter("rebalancer_commands", "commands handled, by outcome", ["service", "subject", "outcome"])
STEP_SECONDS = Histogram("rebalancer_step_seconds", "time to handle a step's command", ["service", "subject"],
                         buckets=_FAST)  # fmt: skip
PUBLISHED = Counter(
    "rebalancer_published_messages", "messages published to JetStream and acknowledged by it", ["service"]
)
DLQ_MESSAGES = Counter("rebalancer_dlq_messages", "messages captured in the DLQ", ["service", "subject"])
RUNS = Counter("rebalancer_runs", "runs finished, by final status", ["status"])
TRADES = Counter("rebalancer_trades", "trades of finished runs", ["side", "kind"])
REALIZED_GAIN = Counter(
    "rebalancer_realized_dollars", "gains and losses realized by executed sells (dollars)", ["term", "kind"]
)
RECONCILE_BREAKS = Counter(
    "rebalancer_reconcile_breaks", "ledger and broker found to differ (a break)", ["broker_account"]
)
SOLVER_SECONDS = Histogram("rebalancer_solver_seconds", "the planner's time per account", buckets=_FAST)
HTTP_REQUESTS = Counter("rebalancer_http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram("rebalancer_http_request_seconds", "HTTP request latency", ["method", "route"],
                         buckets=_FAST)  # fmt: skip


def observe_finished_run(status: str, report: Report | None) -> None:
    """Count a run that reached ``status``, with its trades and, when it really traded, the gains realized."""
    RUNS.labels(status=status).inc()
    if report is None:
        return
    executed = report.execution.executed
    kind = "executed" if executed else "simulated"
    for action in report.actions:
        TRADES.labels(side=action.action, kind=kind).inc()
        if executed and action.action == "sell":
            for lot in action.lots:
                sign = "gain" if lot.gain_loss >= 0 else "loss"
                REALIZED_GAIN.labels(term=lot.holding_period, kind=sign).inc(float(abs(lot.gain_loss)))


def serve_metrics(port: int | None) -> int | None:
    """Serve ``/metrics`` of this process on ``port`` (all interfaces); ``None`` or 0 serves nothing."""
    if not port:
        return None
    try:
        start_http_server(port, registry=REGISTRY)
    except OSError as exc:  # the port is taken: the service runs on, without its scrape endpoint
        get_logger("shared.metrics").warning("metrics port unavailable", port=port, error=str(exc))
        return None
    return port
