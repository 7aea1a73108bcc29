"""The runtime every service is built on: a FastStream NATS broker with the system's reliability rules.

* Commands are consumed from the ``CMD`` work queue by durable pull consumers (``max_workers=1``; scale
  with replicas), with ``AckPolicy.NACK_ON_ERROR`` and a bounded ``max_deliver``.
* A handler's results are published (awaiting JetStream's ack, with a deterministic ``Nats-Msg-Id``)
  *before* the command is acknowledged: ack after the effect is durable.
* A message that does not decode goes to the DLQ with the decode error. A failure that may pass is
  redelivered with a delay; one that exhausts ``max_deliver`` goes to the DLQ with the reason and the
  coordinator is told (``<svc>.v1.evt.step-failed``). A failure that will not pass (bad input, a
  rule) is answered at once with ``step-failed``, never swallowed.
* A :class:`~contracts.bundles.CommandBundle` on a command subject (many runs' commands of one step) is
  handled entry by entry with the same handler and answered with one ``ResultBundle``
  (:mod:`shared.bus.bundles`).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from faststream import AckPolicy, FastStream
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.client import Client as NatsClient
from nats.errors import NotJSMessageError
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from prometheus_client import REGISTRY

from contracts import Command, CommandBundle, encode, subjects
from shared.bus.bundles import BundleHandler, step_failed
from shared.bus.command_checks import checked_command, decoded_message
from shared.bus.dlq import dead_letter
from shared.bus.outgoing import Outgoing
from shared.bus.provisioning import provision_patiently
from shared.bus.snapshots import SnapshotStore
from shared.bus.step_inputs import StepInputs, resolve
from shared.bus.steps import StepStore
from shared.bus.topology import durable_name, stream_for
from shared.clock import Clock, SystemClock
from shared.errors import RebalancerError, RefusedMessageError, TransientError, http_status
from shared.log import bind_step, configure_logging, get_logger
from shared.metrics import COMMANDS, DLQ_MESSAGES, PUBLISHED, STEP_SECONDS, serve_metrics
from shared.redact import redact_urls
from shared.settings import Settings
from shared.telemetry import mark_run, telemetry_middleware, tracer_provider

__all__ = ["CommandHandler", "QueryHandler", "ServiceRuntime", "deliveries_of", "profiled", "tls_context"]

C = TypeVar("C", bound=Command)
CommandHandler = Callable[[Any], Awaitable[Sequence[Outgoing]]]
QueryHandler = Callable[[bytes], Awaitable[object]]

log = get_logger("shared.bus")


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS to NATS when ``NATS_TLS_CA`` is set: the server's certificate must chain to that CA (and name the
    host); ``NATS_TLS_CERT`` and ``NATS_TLS_KEY`` add a client certificate for servers that verify clients."""
    if settings.nats_tls_ca is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(settings.nats_tls_ca))
    if settings.nats_tls_cert is not None:
        key = str(settings.nats_tls_key) if settings.nats_tls_key is not None else None
        context.load_cert_chain(str(settings.nats_tls_cert), key)
    return context


@contextlib.contextmanager
def profiled(directory: Path | None, service: str) -> Iterator[None]:
    """With ``PROFILE_DIR`` set, profile the whole process (cProfile) and write ``<dir>/<service>.prof`` when
    it stops cleanly (SIGTERM): what the book bench's CPU per account is spent on, read with ``pstats``."""
    if directory is None:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        directory.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(directory / f"{service}.prof")


def deliveries_of(message: NatsMessage) -> int:
    """How many times JetStream has delivered ``message`` (1 for a message without JetStream metadata,
    as in FastStream's in-memory test broker)."""
    try:
        return int(message.raw_message.metadata.num_delivered)
    except (NotJSMessageError, AttributeError, ValueError):
        return 1


async def _passthrough(message: NatsMessage, original: Any = None) -> NatsMessage:
    """Give handlers the message itself: they decode with msgspec and read delivery metadata."""
    return message


class ServiceRuntime:
    """Broker, app and helpers of one service process."""

    def __init__(self, service: str, settings: Settings, *, clock: Clock | None = None) -> None:
        self.service = service
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        servers = settings.nats_servers
        auth: dict[str, Any] = {}
        tls = tls_context(settings)
        if settings.nats_user:
            from faststream.security import SASLPlaintext

            auth["security"] = SASLPlaintext(
                username=settings.nats_user, password=settings.nats_password or "", ssl_context=tls
            )
        elif tls is not None:
            from faststream.security import BaseSecurity

            auth["security"] = BaseSecurity(ssl_context=tls)
        # Traces only when settings turn them on: with OTEL_TRACES_EXPORTER=none no middleware is installed.
        self.tracer_provider = tracer_provider(settings, service)
        middlewares: list[Any] = [NatsPrometheusMiddleware(registry=REGISTRY, app_name=service)]
        if self.tracer_provider is not None:
            middlewares.insert(0, telemetry_middleware(self.tracer_provider))
        self.broker = NatsBroker(
            servers,
            apply_types=False,
            logger=None,
            name=f"rebalancer-{service}",
            graceful_timeout=10.0,
            max_reconnect_attempts=-1,
            middlewares=middlewares,
            **auth,
        )
        self.app = FastStream(self.broker, logger=None)  # our structlog JSON lines say what happens
        self._kv: dict[str, KeyValue] = {}
        self._published = PUBLISHED.labels(service=service)
        self._js: JetStreamContext | None = None
        self._js_of: object = None
        self._inputs: StepInputs | None = None
        self._snapshots: SnapshotStore | None = None
        self._bundles = BundleHandler(self)
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._shutdown: list[Callable[[], Awaitable[None]]] = []
        self.app.after_startup(self._after_startup)
        self.app.on_shutdown(self._on_shutdown)

    # ---- lifecycle ---------------------------------------------------------------------------------
    def on_startup(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` once connected and provisioned (before consuming starts is not guaranteed)."""
        self._startup.append(fn)

    def on_shutdown(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._shutdown.append(fn)

    async def _after_startup(self) -> None:
        for fn in self._startup:
            await fn()
        # What start-up built (imports, price history, caches) lives as long as the process: moved out of the
        # collector's generations, so a full collection scans only what handling messages creates (a full
        # scan of everything could pause a step for tens of milliseconds).
        gc.freeze()

    async def _on_shutdown(self) -> None:
        for fn in self._shutdown:
            await fn()

    @property
    def js(self) -> JetStreamContext:
        connection = self.broker.connection
        if self._js is None or self._js_of is not connection:  # one context per connection
            self._js, self._js_of = connection.jetstream(), connection
        return self._js

    async def connect_and_provision(self) -> None:
        """Connect; declare the topology unless a deployment provisions it once with an admin user."""
        await self.broker.connect()
        if self.settings.provision_on_start:
            # on a cluster, a stream another process is creating at that moment may get no answer at all:
            # a short API timeout, and every transient failure tried again (provisioning is idempotent)
            await provision_patiently(
                self.broker.connection.jetstream(timeout=4),
                self.settings,
                on_retry=lambda attempt, exc: log.warning(
                    "provisioning retried", attempt=attempt, error=f"{type(exc).__name__}: {exc}"
                ),
            )

    async def start(self) -> None:
        """Connect, provision and start consuming (used by tests and the supervisor)."""
        await self.connect_and_provision()
        await self.broker.start()
        await self._after_startup()

    async def stop(self) -> None:
        await self._on_shutdown()
        await self.broker.stop()
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush()

    async def run(self) -> None:
        """Run until SIGINT/SIGTERM (``python -m services.<name>``)."""
        configure_logging(self.service, level=self.settings.log_level, json=self.settings.log_json)
        await self.connect_and_provision()
        metrics = serve_metrics(self.settings.metrics_port)
        log.info("service starting", nats=redact_urls(self.settings.nats_url), metrics_port=metrics)
        with profiled(self.settings.profile_dir, self.service):
            await self.app.run()

    # ---- key-value ---------------------------------------------------------------------------------
    async def kv(self, bucket: str) -> KeyValue:
        if bucket not in self._kv:
            self._kv[bucket] = await self.js.key_value(bucket)
        return self._kv[bucket]

    async def inputs(self) -> StepInputs:
        """This process's readers of step outputs and market snapshots (each with its in-memory cache)."""
        if self._inputs is None:
            steps = StepStore(await self.kv(subjects.KV_STEPS), js=self.js, cache_size=self.settings.step_cache_size)
            self._inputs = StepInputs(steps, await self.snapshots())
        return self._inputs

    async def snapshots(self) -> SnapshotStore:
        """This process's market snapshots (KV ``snapshots`` behind a bounded in-memory LRU)."""
        if self._snapshots is None:
            bucket = await self.kv(subjects.KV_SNAPSHOTS)
            self._snapshots = SnapshotStore(bucket, cache_size=self.settings.snapshot_cache_size)
        return self._snapshots

    async def steps(self) -> StepStore:
        return (await self.inputs()).steps

    # ---- publishing --------------------------------------------------------------------------------
    async def publish(self, subject: str, message: object, *, msg_id: str, stream: str | None = None) -> None:
        """Publish to JetStream and wait for the stream's ack; ``msg_id`` de-duplicates re-sends.

        With traces off this is nats-py's own publish: FastStream's (its middlewares around it) costs about
        three times the CPU (84 against 29 µs per message, ``bench`` on this machine), and a batch publishes
        several messages per account. With traces on, FastStream's publish carries the trace context."""
        payload = encode(message)
        headers = {"Nats-Msg-Id": msg_id}
        target = stream or stream_for(subject)
        if self.tracer_provider is None and isinstance(self.broker.connection, NatsClient):  # not a test broker
            await self.js.publish(subject, payload, headers=headers, stream=target)
        else:
            await self.broker.publish(payload, subject, headers=headers, stream=target)
        self._published.inc()

    async def publish_all(self, outgoing: Sequence[Outgoing]) -> None:
        if outgoing:
            await asyncio.gather(*(self.publish(o.subject, o.message, msg_id=o.msg_id) for o in outgoing))

    # ---- commands ----------------------------------------------------------------------------------
    def command(
        self, subject: str, message_type: type[C], handler: Callable[[C], Awaitable[Sequence[Outgoing]]]
    ) -> None:
        """Consume ``subject`` from the CMD work queue and run ``handler`` on each decoded command.

        A version-2 command (references, see :mod:`shared.bus.step_inputs`) is resolved to ``message_type``
        from the stored step outputs and the market snapshot before ``handler`` sees it. A command bundle
        on ``subject`` or on its bundle subject (:func:`contracts.subjects.bundle_subject`) is handled entry by
        entry with ``handler`` (:mod:`shared.bus.bundles`)."""

        async def consume(message: NatsMessage) -> None:
            try:
                await self._handle_command(subject, message_type, handler, message)
            except Exception:  # FastStream's own logger is off: say it here, then let it nack
                log.exception("command handling failed; it will be redelivered", subject=subject)
                raise

        # Two lanes, each its own durable consumer: the step's single commands, and its command bundles (a
        # batch's chunks). A bundle yields between its entries, so a single run is never queued behind one.
        for lane in (subject, subjects.bundle_subject(subject)):
            self.broker.subscriber(
                lane,
                stream=JStream(subjects.STREAM_CMD, declare=False),
                durable=durable_name(lane),
                pull_sub=PullSub(batch_size=1, timeout=1.0),
                ack_policy=AckPolicy.NACK_ON_ERROR,
                max_workers=1,
                decoder=_passthrough,
                title=f"{self.service}:{lane}",
            )(consume)

    async def _handle_command(
        self,
        subject: str,
        message_type: type[C],
        handler: Callable[[C], Awaitable[Sequence[Outgoing]]],
        message: NatsMessage,
    ) -> None:
        body: bytes = message.body
        deliveries = deliveries_of(message)
        decoded, problem = decoded_message(body)
        if isinstance(decoded, CommandBundle):
            if not await self._bundles.handle(subject, message_type, handler, decoded, deliveries):
                reason = f"undecodable {subject} message: bundle id {decoded.run_id!r} cannot name a chunk"
                await self._dead_letter(message, subject, body, reason, deliveries)
            return
        command: Command | None = None
        if decoded is not None:
            command, problem = checked_command(decoded, message_type)
        if command is None:
            await self._dead_letter(message, subject, body, f"undecodable {subject} message: {problem}", deliveries)
            return
        started = time.perf_counter()
        traced = {"trace_id": mark_run(command.run_id, command.step)} if self.tracer_provider is not None else {}
        with bind_step(command.run_id, command.step, attempt=command.attempt, delivery=deliveries, **traced):
            try:
                if not isinstance(command, message_type):
                    command = await resolve(await self.inputs(), command)
                outgoing = await handler(command)  # type: ignore[arg-type]
                await self.publish_all(outgoing)
            except RefusedMessageError as exc:  # forged or not ours: captured, never answered
                await self._dead_letter(message, subject, body, f"refused {subject} message: {exc}", deliveries)
                return
            except Exception as exc:  # every failure is answered: retried, reported, or dead-lettered
                await self._on_command_error(subject, command, message, body, deliveries, exc)
                return
            STEP_SECONDS.labels(service=self.service, subject=subject).observe(time.perf_counter() - started)
            COMMANDS.labels(service=self.service, subject=subject, outcome="ok").inc()
            log.debug("step handled", subject=subject, published=len(outgoing))  # no per-message log at INFO

    async def _dead_letter(self, message: NatsMessage, subject: str, body: bytes, reason: str, deliveries: int) -> None:
        """Capture ``message`` in the DLQ with ``reason`` (logged there), then terminate it."""
        DLQ_MESSAGES.labels(service=self.service, subject=subject).inc()
        COMMANDS.labels(service=self.service, subject=subject, outcome="dlq").inc()
        await dead_letter(
            self.broker, subject=subject, body=body, reason=reason, deliveries=deliveries, service=self.service
        )
        await message.reject()

    async def _on_command_error(
        self,
        subject: str,
        command: Command,
        message: NatsMessage,
        body: bytes,
        deliveries: int,
        exc: Exception,
    ) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        failed = step_failed(command, exc, service=self.service, now=self.clock.now())
        retryable = failed.retryable
        if retryable and deliveries < self.settings.max_deliver:
            log.warning("step failed, will be redelivered", error=reason, exc_info=exc)
            COMMANDS.labels(service=self.service, subject=subject, outcome="retry").inc()
            await message.nack(delay=self.settings.nak_delay_seconds * deliveries)
            return
        if retryable:  # exhausted its deliveries: capture it with the reason
            log.error("message to DLQ after max deliveries", error=reason, exc_info=exc)
            DLQ_MESSAGES.labels(service=self.service, subject=subject).inc()
            await dead_letter(
                self.broker,
                subject=subject,
                body=body,
                reason=reason,
                deliveries=deliveries,
                service=self.service,
            )
        else:
            log.warning("step refused", error=reason)
        COMMANDS.labels(service=self.service, subject=subject, outcome="failed").inc()
        await self.publish(subjects.step_failed(self.service), failed, msg_id=failed.message_id)
        await message.ack()

    # ---- queries (core NATS request-reply) ---------------------------------------------------------
    def query(self, subject: str, handler: QueryHandler) -> None:
        """Answer requests on ``subject``; replicas share the load through a queue group."""

        async def answer(message: NatsMessage) -> bytes:
            try:
                result = await handler(message.body)
                return encode({"ok": True, "result": result})
            except TransientError as exc:  # a service it needs is not up yet (start-up): no traceback
                log.warning("query not answerable yet", subject=subject, error=str(exc))
                return encode({"ok": False, "status": 503, "error": str(exc)})
            except RebalancerError as exc:  # the error tree's one mapping, as the gateway answers it
                return encode({"ok": False, "status": http_status(exc), "error": exc.message})
            except msgspec.ValidationError as exc:
                return encode({"ok": False, "status": 400, "error": str(exc)})
            except Exception as exc:
                log.exception("query failed", subject=subject)
                return encode({"ok": False, "status": 500, "error": f"{type(exc).__name__}: {exc}"})

        self.broker.subscriber(subject, queue=f"{self.service}-queries", decoder=_passthrough)(answer)
