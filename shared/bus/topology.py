"""Streams, consumers and buckets of the system, as data (DESIGN.md section 4).

One provisioning step (:mod:`shared.bus.provisioning`) declares all of them at start-up, so services
can run as least-privilege NATS users that only bind to what exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts import subjects as s

__all__ = [
    "BucketSpec",
    "ConsumerSpec",
    "StreamSpec",
    "buckets",
    "command_consumer",
    "consumers",
    "durable_name",
    "stream_for",
    "streams",
]

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    retention: str  # "workqueue" or "limits"
    max_age_seconds: float = 0.0
    allow_msg_schedules: bool = False
    allow_msg_ttl: bool = False
    no_ack: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subjects: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class BucketSpec:
    name: str
    history: int = 5
    description: str = ""
    ttl_seconds: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)


def durable_name(subject: str) -> str:
    """A consumer name for a subject (names may not hold dots, wildcards or spaces)."""
    return subject.replace(".>", "").replace(".*", "").replace(".", "_").replace(">", "all").replace("*", "any")


def streams(*, evt_max_age_days: float = 7.0) -> tuple[StreamSpec, ...]:
    return (
        StreamSpec(
            s.STREAM_CMD,
            (*s.COMMAND_SUBJECTS, *s.BUNDLE_SUBJECTS),  # the known verbs only: another is refused at publish
            "workqueue",
            description="commands to services; one durable pull consumer per command subject",
        ),
        StreamSpec(
            s.STREAM_EVT,
            (*(s.events_of(svc) for svc in s.SERVICES), *s.PUBLIC_SUBJECTS),
            "limits",
            max_age_seconds=evt_max_age_days * DAY,
            description="events and the public subjects; fan-out",
        ),
        StreamSpec(
            s.STREAM_TIMERS,
            (s.TIMERS_ALL,),
            "limits",
            allow_msg_schedules=True,
            allow_msg_ttl=True,  # fired timers carry a TTL; cron definitions stay until deleted
            description="step timeouts and cron triggers (message schedules)",
        ),
        StreamSpec(
            s.STREAM_DLQ,
            (f"{s.DLQ_PREFIX}.>",),
            "limits",
            max_age_seconds=30 * DAY,
            description="poisoned messages, each with the reason in its headers",
        ),
        StreamSpec(
            s.STREAM_DLQ_ADVISORIES,
            (
                "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>",
                "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>",
            ),
            "limits",
            max_age_seconds=30 * DAY,
            no_ack=True,  # subjects under $JS.> must not be acknowledged
            description="JetStream's max-deliveries and terminated advisories",
        ),
    )


def stream_for(subject: str) -> str:
    """The stream that stores ``subject`` (see :func:`contracts.subjects.stream_of`)."""
    return s.stream_of(subject)


def command_consumer(subject: str) -> ConsumerSpec:
    return ConsumerSpec(s.STREAM_CMD, durable_name(subject), (subject,), description=f"work queue of {subject}")


COORDINATOR_EVENTS = ConsumerSpec(
    s.STREAM_EVT,
    "coordinator_events",
    (s.EVENTS_ALL,),
    "step results and failures (a result bundle arriving here is left to coordinator_bundles; anything forged "
    "on any service's event subject is captured)",
)
COORDINATOR_BUNDLES = ConsumerSpec(
    s.STREAM_EVT,
    "coordinator_bundles",
    tuple(s.step_results(service) for service in s.SERVICES),
    "result bundles of a batch's chunks: their own lane, so a single run's result never waits behind one",
)
COORDINATOR_REQUESTS = ConsumerSpec(s.STREAM_EVT, "coordinator_requests", (s.REBALANCE_REQUESTED,), "run starts")
COORDINATOR_CANCELS = ConsumerSpec(s.STREAM_EVT, "coordinator_cancels", (s.RUN_CANCEL_REQUESTED,), "run cancels")
COORDINATOR_APPROVALS = ConsumerSpec(s.STREAM_EVT, "coordinator_approvals", (s.RUN_APPROVAL_DECIDED,), "approvals")
COORDINATOR_BATCHES = ConsumerSpec(s.STREAM_EVT, "coordinator_batches", (s.REBALANCE_BATCH_REQUESTED,), "batches")
COORDINATOR_TIMERS = ConsumerSpec(s.STREAM_TIMERS, "coordinator_timers", (s.TIMER_FIRE_ALL,), "step deadlines")


def consumers() -> tuple[ConsumerSpec, ...]:
    return (
        *(command_consumer(subject) for subject in (*s.COMMAND_SUBJECTS, *s.BUNDLE_SUBJECTS)),
        COORDINATOR_EVENTS,
        COORDINATOR_BUNDLES,
        COORDINATOR_REQUESTS,
        COORDINATOR_CANCELS,
        COORDINATOR_APPROVALS,
        COORDINATOR_TIMERS,
        COORDINATOR_BATCHES,
    )


def buckets(*, retention_days: float = 30.0, batch_retention_days: float = 30.0) -> tuple[BucketSpec, ...]:
    """Every bucket; runs, their step outputs and snapshots expire ``retention_days`` after their last write,
    batches ``batch_retention_days`` after theirs."""
    retention = retention_days * DAY
    return (
        BucketSpec(s.KV_RUNS, history=1, ttl_seconds=retention, description="saga state per run (coordinator)"),
        BucketSpec(s.KV_STEPS, history=1, ttl_seconds=retention, description="each step's output, once (coordinator)"),
        BucketSpec(
            s.KV_SNAPSHOTS,
            history=1,
            ttl_seconds=retention,
            description="market snapshots by content key (market_data: prices; analysis: covariance, regime)",
        ),
        BucketSpec(s.KV_PORTFOLIOS, history=10, description="accounts, lots, cash (portfolio)"),
        BucketSpec(s.KV_ORDERS, history=2, description="paper broker orders by client order id (execution)"),
        BucketSpec(s.KV_EXECUTIONS, history=2, description="execution results by run (execution)"),
        BucketSpec(s.KV_RECONCILE, history=5, description="reconciliation breaks and runs in flight (execution)"),
        BucketSpec(
            s.KV_BATCHES,
            history=1,
            ttl_seconds=batch_retention_days * DAY,
            description="batch state: one character per account, and the batch's accounts (coordinator)",
        ),
    )
