"""The coordinator's handlers: decode, apply a pure transition with compare-and-set, publish effects."""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from faststream import AckPolicy
from faststream.nats import JStream, NatsMessage, PullSub

from contracts import (
    BatchRequested,
    Event,
    RebalanceRequested,
    Report,
    ResultBundle,
    RunApprovalDecided,
    RunCancelRequested,
    RunRecord,
    ScheduledRun,
    StepFailed,
    StepTimerFired,
    decode,
    encode,
    run_id_problem,
    subjects,
)
from services.coordinator.batch import BatchDriver
from services.coordinator.chunks import ChunkDriver
from services.coordinator.domain import (
    PIVOT,
    SERVICE_STEPS,
    STORED_OUTPUTS,
    Effects,
    ReportInputs,
    RetryPolicy,
    ScheduledTimer,
    apply_approval,
    apply_cancel,
    apply_failure,
    apply_report,
    apply_result,
    apply_timer,
    build_report,
    due_by,
    effects,
    final_effects,
    refuse_busy,
    resume_effects,
    start_run,
)
from services.coordinator.domain.transitions import StepResult
from services.coordinator.domain.trust import RESULT_OF, bundle_problem, result_problem
from services.coordinator.store import RunStore
from shared.bus.dlq import dead_letter
from shared.bus.runtime import ServiceRuntime, deliveries_of
from shared.bus.schedules import FIRED_TTL
from shared.bus.topology import (
    COORDINATOR_APPROVALS,
    COORDINATOR_BATCHES,
    COORDINATOR_BUNDLES,
    COORDINATOR_CANCELS,
    COORDINATOR_EVENTS,
    COORDINATOR_REQUESTS,
    COORDINATOR_TIMERS,
)
from shared.log import bind_step, get_logger
from shared.metrics import observe_finished_run
from shared.telemetry import mark_run

__all__ = ["Coordinator", "Hook"]

log = get_logger("coordinator")
Hook = Callable[[RunRecord], Awaitable[None]]
TERMINAL = ("completed", "failed", "cancelled")
_SCHEDULE_NAMESPACE = uuid.UUID("0b8a3f5e-5d1c-4f7e-8a8e-3c9e2f7d6a41")


def _schedule_time(at: datetime) -> str:
    """Message schedules take whole seconds: round up, so a deadline never fires early."""
    whole = datetime.fromtimestamp(math.ceil(at.timestamp()), tz=at.tzinfo)
    return whole.strftime("%Y-%m-%dT%H:%M:%SZ")


class Coordinator:
    """Drives runs. Several replicas may run at once: KV compare-and-set keeps each run consistent."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        policy: RetryPolicy,
        *,
        on_success: list[Hook] | None = None,
        on_failure: list[Hook] | None = None,
    ) -> None:
        self.runtime = runtime
        self.policy = policy
        self.on_success = on_success or []
        self.on_failure = on_failure or []
        self._store: RunStore | None = None
        self.chunks = ChunkDriver(
            runtime,
            policy,
            self.store,
            build_report=self._report_of,
            finished=self._chunk_runs_finished,
            dead_letter=self._dead_letter_entry,
        )
        self.batches = BatchDriver(runtime, self.start, self.store, policy, chunks=self.chunks)
        self._watchdog: asyncio.Task[None] | None = None

    async def store(self) -> RunStore:
        if self._store is None:
            self._store = RunStore(await self.runtime.kv(subjects.KV_RUNS), js=self.runtime.js)
        return self._store

    def register(self) -> None:
        broker = self.runtime.broker
        for spec, handler in (
            (COORDINATOR_REQUESTS, self._on_request_message),
            (COORDINATOR_CANCELS, self._on_request_message),
            (COORDINATOR_APPROVALS, self._on_request_message),
            (COORDINATOR_EVENTS, self._on_event_message),
            (COORDINATOR_BUNDLES, self._on_step_message),
            (COORDINATOR_TIMERS, self._on_timer_message),
            (COORDINATOR_BATCHES, self._on_batch_message),
        ):
            broker.subscriber(
                spec.filter_subjects[0],
                stream=JStream(spec.stream, declare=False),
                durable=spec.durable,
                pull_sub=PullSub(batch_size=10, timeout=1.0),
                ack_policy=AckPolicy.NACK_ON_ERROR,
                max_workers=1,
                decoder=_passthrough,
                title=f"coordinator:{spec.durable}",
            )(handler)
        self.runtime.on_startup(self.resume)
        self.runtime.on_startup(self.batches.start_watch)
        self.runtime.on_startup(self.start_watchdog)
        self.runtime.on_shutdown(self.batches.stop_watch)
        self.runtime.on_shutdown(self.stop_watchdog)
        self.runtime.on_shutdown(self.chunks.stop)

    # ---- message entry points ----------------------------------------------------------------------
    async def _guarded(
        self, message: NatsMessage, expected: tuple[type, ...], act: Callable[[object], Awaitable[None]]
    ) -> None:
        """Decode and check a message, then ``act`` on it. Whatever cannot be handled reaches the DLQ with
        its reason (logged): undecodable, of a type this subject does not carry, a run id that cannot name
        a run, a step result from a service that does not own the step, or a failure that persists to the
        last delivery. A failure before that is logged and redelivered with a growing delay."""
        subject = message.raw_message.subject
        deliveries = deliveries_of(message)
        problem = ""
        try:
            decoded: object = decode(message.body)
        except Exception as exc:  # ContractError, or whatever else a decoder raises: never stuck
            decoded, problem = None, f"undecodable {subject}: {exc}"
        if decoded is not None:
            problem = _message_problem(subject, decoded, expected) or ""
            if self.runtime.tracer_provider is not None and isinstance(getattr(decoded, "run_id", None), str):
                mark_run(decoded.run_id)  # type: ignore[attr-defined]
        if problem:
            await self._dead_letter(message, subject, problem, deliveries)
            return
        try:
            await act(decoded)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if deliveries >= self.runtime.settings.max_deliver:
                log.error("handling failed at the last delivery", subject=subject, error=reason, exc_info=exc)
                await self._dead_letter(message, subject, f"failed {deliveries} times: {reason}", deliveries)
                return
            log.warning("handling failed, will be redelivered", subject=subject, error=reason, exc_info=exc)
            await message.nack(delay=self.runtime.settings.nak_delay_seconds * deliveries)

    async def _dead_letter(self, message: NatsMessage, subject: str, reason: str, deliveries: int) -> None:
        await dead_letter(self.runtime.broker, subject=subject, body=message.body, reason=reason,
                          deliveries=deliveries, service="coordinator")  # fmt: skip
        await message.reject()

    async def _on_request_message(self, message: NatsMessage) -> None:
        await self._guarded(message, (RebalanceRequested, RunCancelRequested, RunApprovalDecided), self._request)

    async def _request(self, decoded: object) -> None:
        if isinstance(decoded, RebalanceRequested):
            await self.start(decoded)
        elif isinstance(decoded, RunCancelRequested):
            await self.cancel(decoded.run_id, decoded.reason)
        elif isinstance(decoded, RunApprovalDecided):
            await self.decide(decoded)

    async def _on_batch_message(self, message: NatsMessage) -> None:
        await self._guarded(message, (BatchRequested,), self._batch)

    async def _batch(self, decoded: object) -> None:
        assert isinstance(decoded, BatchRequested)
        await self.batches.requested(decoded)

    async def _on_event_message(self, message: NatsMessage) -> None:
        if message.raw_message.subject in _RESULT_BUNDLE_SUBJECTS:
            return  # a chunk's result bundle: handled on its own lane (coordinator_bundles)
        await self._on_step_message(message)

    async def _on_step_message(self, message: NatsMessage) -> None:
        async def act(decoded: object) -> None:
            if isinstance(decoded, Event):
                await self.handle_event(decoded, body=message.body)
            elif isinstance(decoded, ResultBundle):
                await self.chunks.on_results(decoded, message.body)

        await self._guarded(message, (StepFailed, ResultBundle, *RESULT_OF), act)

    async def _dead_letter_entry(self, step: str, body: bytes, reason: str) -> None:
        """One entry of a result bundle that cannot count (its bundle's other entries do)."""
        owner = SERVICE_STEPS.get(step, ("coordinator", ""))[0]
        log.warning("result bundle entry refused", step=step, reason=reason)
        await dead_letter(self.runtime.broker, subject=subjects.step_results(owner), body=body, reason=reason,
                          deliveries=1, service="coordinator")  # fmt: skip

    async def _report_of(self, record: RunRecord, now: datetime) -> Report:
        return build_report(record, await self.report_inputs(record), now)

    async def _chunk_runs_finished(self, batch_id: str, runs: list[RunRecord], new: bool) -> None:
        """A chunk's runs finished: counted in their batch (idempotent); the metrics and hooks of a run
        that just finished (``new``), as for a single run."""
        await self.batches.runs_finished(batch_id, runs)
        if new:
            for run in runs:
                observe_finished_run(run.status, run.report)
                await self._run_hooks(run)

    async def _on_timer_message(self, message: NatsMessage) -> None:
        async def act(decoded: object) -> None:
            if isinstance(decoded, StepTimerFired):
                await self.handle_timer(decoded)
            elif isinstance(decoded, ScheduledRun):
                await self.fire_schedule(decoded, tick=_stream_sequence(message))

        await self._guarded(message, (StepTimerFired, ScheduledRun), act)

    async def fire_schedule(self, schedule: ScheduledRun, *, tick: int) -> None:
        """One tick of a cron schedule: one run, whose id the tick determines (at most once)."""
        run_id = str(uuid.uuid5(_SCHEDULE_NAMESPACE, f"{schedule.name}:{tick}"))
        now = self.runtime.clock.now()
        request = RebalanceRequested(
            run_id=run_id, message_id=run_id, occurred_at=now, request=schedule.request,
            source=f"schedule:{schedule.name}",
        )  # fmt: skip
        await self.start(request)

    # ---- the saga ----------------------------------------------------------------------------------
    async def start(self, request: RebalanceRequested) -> None:
        now = self.runtime.clock.now()
        record = start_run(request, now)
        store = await self.store()
        with bind_step(record.run_id, "start"):
            if not request.request.dry_run:  # one trading run per account at a time
                holder = await store.acquire(request.request.account_id, record.run_id)
                if holder is not None:
                    log.warning("account busy: run refused", account_id=request.request.account_id, holder=holder)
                    record = refuse_busy(record, holder, now)
            marked = await store.mark_active(record.run_id)  # first: a crash leaves no unindexed run
            if not await store.create(record):
                log.info("duplicate request ignored: run exists")
                existing = await store.get(record.run_id)
                if existing is not None and existing.status == "running":
                    await self._resume_run(existing, now)
                elif existing is not None and marked:  # long finished: the marker is ours, not a crash's
                    await store.mark_finished(existing.run_id)
                elif existing is not None:
                    await self._finalize_if_unconfirmed(existing, now)
                return
            log.info("run started", account_id=request.request.account_id, source=request.source)
            await self._publish(effects(None, record, now, self.policy))
            if record.status in TERMINAL:  # refused before it started: nothing to release but its batch's turn
                await self.batches.run_finished(record)
                await store.mark_finished(record.run_id)

    async def handle_event(self, event: Event, *, body: bytes | None = None) -> None:
        now = self.runtime.clock.now()
        store = await self.store()
        with bind_step(event.run_id, event.step, attempt=event.attempt):
            if isinstance(event, StepFailed):
                failed = event
                before, after = await store.transition(
                    event.run_id, lambda r: apply_failure(r, failed, now, self.policy)
                )
            elif isinstance(event, StepResult):
                before, after = await self._accept_result(event, body if body is not None else encode(event), now)
            else:
                return
            await self._after(before, after, now, copy=True)

    async def _accept_result(
        self, event: StepResult, body: bytes, now: datetime
    ) -> tuple[RunRecord | None, RunRecord | None]:
        """Apply a step's result with compare-and-set; an accepted output is stored (KV ``steps``) before
        the record says it is there, so a reader never finds the reference without the output."""
        store = await self.store()
        steps = await self.runtime.steps()
        stored: list[bool] = []

        async def store_output() -> None:
            if event.step in STORED_OUTPUTS and not stored:
                await steps.put(event.run_id, event.step, body, event)
                stored.append(True)

        return await store.transition(event.run_id, lambda r: apply_result(r, event, now), before_write=store_output)

    async def handle_timer(self, timer: StepTimerFired) -> None:
        now = self.runtime.clock.now()
        store = await self.store()
        with bind_step(timer.run_id, timer.step, attempt=timer.attempt, timer=timer.kind):
            before, after = await store.transition(timer.run_id, lambda r: apply_timer(r, timer, now, self.policy))
            if after is not None and timer.kind == "deadline":
                log.warning("step timed out", step=timer.step)
            await self._after(before, after, now, copy=True)

    async def decide(self, decision: RunApprovalDecided) -> None:
        now = self.runtime.clock.now()
        store = await self.store()
        with bind_step(decision.run_id, "approval"):
            before, after = await store.transition(decision.run_id, lambda r: apply_approval(r, decision, now))
            if after is not None:
                log.info("approval decided", approved=decision.approved, by=decision.by)
            await self._after(before, after, now, copy=False)

    async def cancel(self, run_id: str, reason: str) -> None:
        now = self.runtime.clock.now()
        store = await self.store()
        current = await store.get(run_id)
        if current is not None and current.chunk_id and current.status not in TERMINAL:
            await self.chunks.cancel(current.chunk_id, run_id, reason)  # its live state is its chunk's
            return
        with bind_step(run_id, "cancel"):
            before, after = await store.transition(run_id, lambda r: apply_cancel(r, now, reason))
            if after is not None:
                log.info("run cancelled", reason=reason)
            await self._after(before, after, now, copy=False)

    async def _after(self, before: RunRecord | None, after: RunRecord | None, now: datetime, copy: bool) -> None:
        """Publish what the transition from ``before`` to ``after`` calls for.

        ``after`` is ``None`` when the message changed nothing on a fresh read. When the message may be a
        copy of one already applied (``copy``: a step's result or failure, a timer), the effects that its
        first delivery called for may never have been published: the handling of that delivery failed
        (the server went away after the run's write), or the server that stored the write was killed
        before it stored the command and its deadline. The delivery count cannot tell a copy (a server
        restarted after ``kill -9`` may deliver it again as a first delivery: its consumer state is written
        lazily), so every such message publishes again what the run waits for. The same message ids let
        JetStream drop what it already has; the services are idempotent on (run, step, attempt) for the
        rest. In steady state a copy is rare: a late timer, a duplicate result."""
        if before is None:
            return
        if after is None:
            if copy and before.status == "running":
                log.info("message changed nothing: publishing again what the run waits for", step=before.current_step)
                await self._resume_run(before, now)
            elif copy:
                await self._finalize_if_unconfirmed(before, now)
            return
        out = effects(before, after, now, self.policy)
        await self._publish(out)
        if after.current_step == PIVOT != before.current_step and self.policy.in_block(after):
            await self.batches.run_parked(after)  # planned: it waits for its batch's block orders
        if out.report_due:
            await self._generate_report(after, now)
        finished = after.status != before.status and after.status in TERMINAL
        if finished:
            await self._release(after)
        if finished:
            observe_finished_run(after.status, after.report)
        if after.status != before.status:
            log.info("run status", status=after.status, error=after.error)
            await self._run_hooks(after)

    async def _run_hooks(self, record: RunRecord) -> None:
        if record.status not in ("completed", "failed"):
            return
        for hook in self.on_success if record.status == "completed" else self.on_failure:
            try:
                await hook(record)
            except Exception:
                log.exception("run hook failed")

    async def _release(self, record: RunRecord) -> None:
        """The last writes of a finished run, after its effects are published: the account's lock, its
        batch's count, then the run's ``active.*`` marker (its absence says everything of the run was done)."""
        store = await self.store()
        if not record.request.dry_run:
            await store.release(record.request.account_id, record.run_id)
        await self.batches.run_finished(record)  # its batch counts it and lets the next account in
        if record.outputs and not self.runtime.settings.keep_step_outputs:  # the report says what they said
            await (await self.runtime.steps()).drop_run(record.run_id, record.outputs)
        await store.mark_finished(record.run_id)

    async def _finalize_if_unconfirmed(self, record: RunRecord, now: datetime) -> None:
        """A finished run still marked active: its coordinator stopped (or the bus failed) between writing
        the finished state and publishing. Publish its final effects again (same message ids) and release."""
        store = await self.store()
        if not await store.is_active(record.run_id):
            return
        with bind_step(record.run_id, "finalize"):
            log.warning("publishing a finished run's final effects again", status=record.status)
            await self._publish(final_effects(record, now, self.policy))
            await self._release(record)

    async def report_inputs(self, record: RunRecord) -> ReportInputs:
        """The step outputs the report is built from (KV ``steps``, cached), and the snapshot's stale prices."""
        steps = await self.runtime.steps()
        found = {step: await steps.find(record.run_id, step) for step in record.outputs}
        stale = (
            (await (await self.runtime.snapshots()).prices(record.snapshot_id)).warnings if record.snapshot_id else {}
        )
        return ReportInputs.of(found, stale)

    async def _resume_run(self, record: RunRecord, now: datetime) -> None:
        """Publish again what an unfinished run waits for; build its report if that is what it waits for."""
        out = resume_effects(record, now, self.policy)
        await self._publish(out)
        if out.report_due:
            await self._generate_report(record, now)

    async def _generate_report(self, waiting: RunRecord, now: datetime) -> None:
        """The ``generate-report`` step: build the report from the stored outputs, complete the run.

        ``waiting`` is the state that began the step: its outputs are read (from this process's cache
        unless another coordinator stored them); the report is built on whatever state the write finds."""
        store = await self.store()
        inputs = await self.report_inputs(waiting)
        run_id = waiting.run_id

        def report_on(record: RunRecord) -> RunRecord | None:
            if record.status != "running" or record.step("generate-report").status != "running":
                return None
            return apply_report(record, build_report(record, inputs, now), now)

        with bind_step(run_id, "generate-report"):
            before, after = await store.transition(run_id, report_on)
            await self._after(before, after, now, copy=False)

    async def resume(self) -> None:
        """Publish again what every unfinished run waits for, and the final effects of every finished run
        still marked active (after a restart)."""
        store = await self.store()
        now = self.runtime.clock.now()
        resumed = finalized = 0
        for run_id in await store.active_run_ids():
            record = await store.get(run_id)
            if record is None:
                await store.mark_finished(run_id)  # marked, never stored: a crash between the two writes
                continue
            if record.status != "running":
                await self._finalize_if_unconfirmed(record, now)
                finalized += 1
                continue
            with bind_step(run_id, record.current_step or "resume"):
                await self._resume_run(record, now)
            resumed += 1
        log.info("resumed unfinished runs", count=resumed, finalized=finalized)
        log.info("resumed unfinished chunks", count=await self.chunks.resume())

    async def redrive_overdue(self) -> int:
        """Publish again what every overdue run waits for: a running run unchanged for longer than its
        pending timer's time (:func:`due_by`) plus ``RUN_WATCHDOG_SECONDS`` lost its command and that timer
        together (a server killed before it stored them, and no copy of the message that started the step
        will come: its first handling was acknowledged, or it was the batch's own start of the run)."""
        store = await self.store()
        now = self.runtime.clock.now()
        grace = timedelta(seconds=self.runtime.settings.run_watchdog_seconds)
        redriven = 0
        for run_id in await store.active_run_ids():
            record = await store.get(run_id)
            due = due_by(record, self.policy) if record is not None else None
            if record is None or due is None or now <= due + grace:
                continue
            with bind_step(run_id, record.current_step or "watchdog"):
                log.warning("run overdue: publishing what it waits for again", due=due.isoformat())
                await self._resume_run(record, now)
            redriven += 1
        return redriven

    async def start_watchdog(self) -> None:
        self._watchdog = asyncio.create_task(self._keep_watching())

    async def stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None

    async def _keep_watching(self) -> None:
        while True:
            await asyncio.sleep(self.runtime.settings.run_watchdog_seconds)
            try:
                await self.redrive_overdue()
                await self.chunks.watch()
            except Exception as exc:  # the server may be away: the next round tries again
                log.warning("run watchdog failed", error=f"{type(exc).__name__}: {exc}")

    async def _publish(self, out: Effects) -> None:
        """Publish a transition's messages and timers at once, each awaiting its stream's ack; remove the
        run's pending timer when no step is left running."""
        await asyncio.gather(self.runtime.publish_all(out.messages), *(self._schedule(t) for t in out.timers))
        if out.clear_timer and out.run_id:
            await self.runtime.js.purge_stream(subjects.STREAM_TIMERS, subject=subjects.run_timer_schedule(out.run_id))

    async def _schedule(self, timer: ScheduledTimer) -> None:
        message = timer.message
        await self.runtime.broker.publish(
            encode(message),
            subjects.run_timer_schedule(message.run_id),
            headers={
                "Nats-Schedule": f"@at {_schedule_time(timer.at)}",
                "Nats-Schedule-Target": subjects.timer_fire(message.run_id, message.step),
                "Nats-Schedule-TTL": FIRED_TTL,
                "Nats-Msg-Id": message.message_id,
            },
            stream=subjects.STREAM_TIMERS,
        )


def _stream_sequence(message: NatsMessage) -> int:
    return int(message.raw_message.metadata.sequence.stream)


async def _passthrough(message: NatsMessage, original: object = None) -> NatsMessage:
    return message


_RESULT_BUNDLE_SUBJECTS = frozenset(subjects.step_results(service) for service in subjects.SERVICES)
_STEP_EVENT_SUBJECTS = frozenset(
    {*subjects.EVENT_SUBJECTS, *(subjects.step_failed(service) for service in subjects.SERVICES)}
)
_CARRIES = {
    subjects.REBALANCE_REQUESTED: RebalanceRequested,
    subjects.RUN_CANCEL_REQUESTED: RunCancelRequested,
    subjects.RUN_APPROVAL_DECIDED: RunApprovalDecided,
    subjects.REBALANCE_BATCH_REQUESTED: BatchRequested,
}


def _message_problem(subject: str, decoded: object, expected: tuple[type, ...]) -> str | None:
    """Why the coordinator cannot act on ``decoded`` received on ``subject``; ``None`` when it can."""
    if isinstance(decoded, ResultBundle) and ResultBundle in expected:
        return run_id_problem(decoded.run_id) or bundle_problem(subject, decoded)
    other_fact = subject not in _STEP_EVENT_SUBJECTS and subject.split(".")[1:3] == ["v1", "evt"]
    if other_fact and not isinstance(decoded, (StepFailed, *RESULT_OF)):
        return None  # another fact a service reports on its own subject: not the coordinator's to judge
    carried = _CARRIES.get(subject)
    if not isinstance(decoded, expected) or (carried is not None and not isinstance(decoded, carried)):
        wanted = carried.__name__ if carried is not None else " or ".join(t.__name__ for t in expected)
        return f"{subject} carries {wanted}, not {type(decoded).__name__}"
    if not isinstance(decoded, ScheduledRun):
        problem = run_id_problem(getattr(decoded, "run_id", ""))
        if problem is not None:
            return problem
    if isinstance(decoded, Event):
        return result_problem(subject, decoded)
    return None
