"""Declare every stream, consumer and bucket (idempotent: creates what is missing, updates what differs).

What already has the declared configuration is left alone: on a cluster each update is a proposal through
the JetStream meta leader, and every service provisions at start-up. On a 3-node cluster, a ``stream_info``
of a stream another process is creating at that very moment gets no answer (an API time-out, which killed
services at start-up); :func:`provision_patiently` retries what is transient (a time-out, no responders,
JetStream unavailable while leaders are elected) before giving up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError, ServiceUnavailableError

from shared.bus.topology import BucketSpec, ConsumerSpec, StreamSpec, buckets, consumers, streams
from shared.settings import Settings

__all__ = ["TRANSIENT_ERRORS", "provision", "provision_patiently"]

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    ServiceUnavailableError,
)


def _differs(current: dict[str, object], wanted: dict[str, object]) -> bool:
    """Whether a field ``wanted`` sets has another value in ``current`` (absent, zero and false are one)."""
    for key, value in wanted.items():
        have = current.get(key)
        if not value and not have:
            continue
        if isinstance(value, list) and isinstance(have, list):
            if sorted(map(str, value)) != sorted(map(str, have)):
                return True
        elif value != have:
            return True
    return False


def _stream_config(spec: StreamSpec, settings: Settings) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.WORK_QUEUE if spec.retention == "workqueue" else RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=settings.stream_replicas,
        max_age=spec.max_age_seconds or None,
        duplicate_window=settings.duplicate_window_seconds,
        allow_msg_schedules=spec.allow_msg_schedules or None,
        allow_rollup_hdrs=spec.allow_msg_schedules,
        no_ack=spec.no_ack,
        allow_msg_ttl=spec.allow_msg_ttl,
    )


def _consumer_config(spec: ConsumerSpec, settings: Settings) -> ConsumerConfig:
    single = len(spec.filter_subjects) == 1
    return ConsumerConfig(
        durable_name=spec.durable,
        name=spec.durable,
        description=spec.description,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=settings.ack_wait_seconds,
        max_deliver=settings.max_deliver,
        max_ack_pending=1000,
        filter_subject=spec.filter_subjects[0] if single else None,
        filter_subjects=None if single else list(spec.filter_subjects),
        num_replicas=settings.stream_replicas,
    )


async def _ensure_stream(js: JetStreamContext, spec: StreamSpec, settings: Settings) -> None:
    config = _stream_config(spec, settings)
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    if _differs(info.config.as_dict(), config.as_dict()):
        await js.update_stream(config)


async def _ensure_consumer(js: JetStreamContext, spec: ConsumerSpec, settings: Settings) -> None:
    config = _consumer_config(spec, settings)
    try:
        info = await js.consumer_info(spec.stream, spec.durable)
    except NotFoundError:
        await js.add_consumer(spec.stream, config)
        return
    if not _differs(info.config.as_dict(), config.as_dict()):
        return
    # create-or-update with the same name; a field that cannot change in place keeps the consumer as is
    with contextlib.suppress(BadRequestError):
        await js.add_consumer(spec.stream, config)


async def _ensure_bucket(js: JetStreamContext, spec: BucketSpec, settings: Settings) -> None:
    try:
        await js.key_value(spec.name)
        await _update_bucket(js, spec, settings)
    except (BucketNotFoundError, NotFoundError):
        await js.create_key_value(
            KeyValueConfig(
                bucket=spec.name,
                description=spec.description,
                history=spec.history,
                storage=StorageType.FILE,
                replicas=settings.stream_replicas,
                ttl=spec.ttl_seconds or None,
            )
        )


async def _update_bucket(js: JetStreamContext, spec: BucketSpec, settings: Settings) -> None:
    """Bring an existing bucket's history, TTL and replicas to the spec (a deployment that changes its
    retention, or moves from one server to a cluster)."""
    info = await js.stream_info(f"KV_{spec.name}")
    config = info.config
    max_age = spec.ttl_seconds or None
    if (
        config.max_msgs_per_subject == spec.history
        and (config.max_age or None) == max_age
        and config.num_replicas == settings.stream_replicas
    ):
        return
    config.max_msgs_per_subject = spec.history
    config.max_age = max_age
    config.num_replicas = settings.stream_replicas
    with contextlib.suppress(BadRequestError):  # a server that refuses the change keeps the bucket as is
        await js.update_stream(config)


async def provision(js: JetStreamContext, settings: Settings) -> None:
    """Create or update the system's streams, consumers and buckets."""
    for stream in streams(evt_max_age_days=settings.evt_max_age_days):
        await _ensure_stream(js, stream, settings)
    for consumer in consumers():
        await _ensure_consumer(js, consumer, settings)
    for bucket in buckets(
        retention_days=settings.run_retention_days, batch_retention_days=settings.batch_retention_days
    ):
        await _ensure_bucket(js, bucket, settings)


async def provision_patiently(
    js: JetStreamContext,
    settings: Settings,
    *,
    attempts: int = 12,
    first_delay: float = 0.5,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> None:
    """:func:`provision`, tried again after a transient failure (doubling delays up to 5 s), at most
    ``attempts`` times; anything else, or the last failure, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            await provision(js, settings)
            return
        except TRANSIENT_ERRORS as exc:
            if attempt == attempts:
                raise
            if on_retry is not None:
                on_retry(attempt, exc)
            await asyncio.sleep(min(first_delay * 2 ** (attempt - 1), 5.0))
