"""Command bundles on the service side: one step's commands of many runs in one message.

A :class:`~contracts.bundles.CommandBundle` arrives on a step's usual command subject (see
:mod:`contracts.bundles`). The runtime handles it as it would each command alone, with the service's own
handler, and answers with one :class:`~contracts.bundles.ResultBundle` on ``<svc>.v1.evt.step-results``:

* each entry passes the checks of a single command (it decodes, is of the subject's type, names a run) and
  must be of the bundle's step; an entry that fails them is dead-lettered alone, with the reason;
* the earlier steps' outputs the bundle names (``inputs``: KV ``steps`` keys of stored result bundles) are
  read once and cached per run, so a version-2 command resolves without further reads;
* each run's own step result goes into the answer; anything else its handler publishes (a rejected trade)
  is published as for a single command; a failure becomes that run's ``StepFailed`` in the answer, built as
  a single command's is: a run that fails, fails alone, and the coordinator retries it by its policy. A
  forged entry (``RefusedMessageError``) is dead-lettered alone;
* the answer is published (its ``Nats-Msg-Id`` is ``<bundle message id>:results``) before the bundle is
  acknowledged. If that fails the bundle is delivered again: handlers are idempotent on (run, step, attempt).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from contracts import Command, CommandBundle, Event, ResultBundle, StepFailed, encode, run_id_problem, subjects
from shared.bus.command_checks import decoded_command
from shared.bus.dlq import dead_letter
from shared.bus.outgoing import Outgoing, result_message_id
from shared.bus.read_scope import shared_reads
from shared.bus.step_inputs import resolve
from shared.errors import RefusedMessageError, is_retryable
from shared.log import bind_step, get_logger
from shared.metrics import COMMANDS, DLQ_MESSAGES, STEP_SECONDS
from shared.telemetry import mark_run

if TYPE_CHECKING:
    from shared.bus.runtime import ServiceRuntime

__all__ = ["BundleHandler", "bundle_entry", "result_bundle", "result_bundles", "split_result", "step_failed"]

log = get_logger("shared.bus")

Handler = Callable[[Any], Awaitable[Sequence[Outgoing]]]


def step_failed(command: Command, exc: BaseException, *, service: str, now: datetime) -> StepFailed:
    """The ``StepFailed`` answering ``command`` whose handling raised ``exc`` (alone or in a bundle)."""
    return StepFailed(
        run_id=command.run_id,
        message_id=f"{command.run_id}:{command.step}:{command.attempt}:failed",
        occurred_at=now,
        step=command.step,
        attempt=command.attempt,
        service=service,
        error=str(exc) or type(exc).__name__,
        retryable=is_retryable(exc),
        error_type=type(exc).__name__,
    )


def split_result(command: Command, outgoing: Sequence[Outgoing]) -> tuple[Event | None, list[Outgoing]]:
    """``command``'s own step result among what its handler wants published (the event of its run and step
    with the result's message id, :func:`~shared.bus.outgoing.result_message_id`), and the rest."""
    wanted = result_message_id(command)
    for index, item in enumerate(outgoing):
        message = item.message
        if (
            isinstance(message, Event)
            and message.message_id == wanted
            and message.run_id == command.run_id
            and message.step == command.step
        ):
            return message, [*outgoing[:index], *outgoing[index + 1 :]]
    return None, list(outgoing)


def bundle_entry(body: bytes, bundle: CommandBundle, message_type: type[Command]) -> tuple[Command | None, str]:
    """One entry of ``bundle`` as a command, or ``None`` and why it cannot be handled: a single command's
    checks, and the bundle's step."""
    command, problem = decoded_command(body, message_type)
    if command is None:
        return None, problem
    if command.step != bundle.step:
        return None, f"step {command.step!r} in a bundle of step {bundle.step!r}"
    return command, ""


_ENVELOPE_BYTES = 4096
"""Room left in a message for a result bundle's envelope and headers."""


def result_bundles(
    bundle: CommandBundle, results: Sequence[Event], *, service: str, now: datetime, max_bytes: int
) -> list[ResultBundle]:
    """The answer to ``bundle`` in as few messages as fit the server's ``max_bytes`` payload (one, unless
    the runs' results are large: a chunk of direct-indexing accounts); the first keeps the single answer's
    message id, the next ones add ``:<n>``."""
    encoded = [encode(result) for result in results]
    parts: list[list[bytes]] = [[]]
    size = 0
    for body in encoded:
        if parts[-1] and size + len(body) + 1 > max_bytes - _ENVELOPE_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(body)
        size += len(body) + 1
    first = f"{bundle.message_id}:results"
    return [
        ResultBundle(
            run_id=bundle.run_id,
            message_id=first if n == 0 else f"{first}:{n}",
            occurred_at=now,
            step=bundle.step,
            service=service,
            results=[msgspec.Raw(body) for body in part],
        )
        for n, part in enumerate(parts)
    ]


def result_bundle(bundle: CommandBundle, results: Sequence[Event], *, service: str, now: datetime) -> ResultBundle:
    """The answer to ``bundle`` in one message: each handled entry's result or ``StepFailed``, in order."""
    (answer,) = result_bundles(bundle, results, service=service, now=now, max_bytes=2**62)
    return answer


class BundleHandler:
    """Handles the command bundles of one service process (see the module's docstring)."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    async def handle(
        self, subject: str, message_type: type[Command], handler: Handler, bundle: CommandBundle, deliveries: int
    ) -> bool:
        """Handle ``bundle`` and publish its answer; ``False`` (nothing done) when the bundle's own id
        cannot name a chunk, which the caller dead-letters whole."""
        if run_id_problem(bundle.run_id) is not None:
            return False
        runtime = self.runtime
        service = runtime.service
        trace_id = mark_run(bundle.run_id, bundle.step) if runtime.tracer_provider is not None else None
        keys = [key for step_keys in bundle.inputs.values() for key in step_keys]
        if keys:
            await (await runtime.steps()).load_bundles(keys)
        results: list[Event] = []
        with shared_reads():  # the entries share their reads (an account's household, its model)
            for index, raw in enumerate(bundle.commands):
                body = bytes(raw)
                command, problem = bundle_entry(body, bundle, message_type)
                if command is None:
                    reason = f"undecodable {subject} message (bundle {bundle.message_id}, entry {index}): {problem}"
                    await self._dead_letter(subject, body, reason, deliveries)
                    continue
                traced = {"trace_id": trace_id} if trace_id is not None else {}
                with bind_step(command.run_id, command.step, attempt=command.attempt, delivery=deliveries, **traced):
                    result = await self._one(subject, message_type, handler, command, body, deliveries)
                if result is not None:
                    results.append(result)
                await asyncio.sleep(0)  # let a single command (the other lane) in between two entries
        max_bytes = int(getattr(runtime.broker.connection, "max_payload", 0) or 1024 * 1024)
        answers = result_bundles(bundle, results, service=service, now=runtime.clock.now(), max_bytes=max_bytes)
        for answer in answers:  # in order: a redelivered bundle sends the same parts again
            await runtime.publish(subjects.step_results(service), answer, msg_id=answer.message_id)
        log.debug("bundle handled", subject=subject, chunk=bundle.run_id, results=len(results))
        return True

    async def _one(
        self,
        subject: str,
        message_type: type[Command],
        handler: Handler,
        command: Command,
        body: bytes,
        deliveries: int,
    ) -> Event | None:
        """One entry's result (or ``StepFailed``); ``None`` when it was dead-lettered."""
        runtime = self.runtime
        started = time.perf_counter()
        try:
            resolved = command if isinstance(command, message_type) else await resolve(await runtime.inputs(), command)
            outgoing = await handler(resolved)
            result, others = split_result(command, outgoing)
            await runtime.publish_all(others)
        except RefusedMessageError as exc:  # forged or not ours: captured, never answered
            await self._dead_letter(subject, body, f"refused {subject} message: {exc}", deliveries)
            return None
        except Exception as exc:  # the run fails alone; the coordinator retries it by its policy
            return self._failed(subject, command, exc)
        if result is None:
            return self._failed(subject, command, RuntimeError(f"the {command.step} handler answered no step result"))
        STEP_SECONDS.labels(service=runtime.service, subject=subject).observe(time.perf_counter() - started)
        COMMANDS.labels(service=runtime.service, subject=subject, outcome="ok").inc()
        return result

    def _failed(self, subject: str, command: Command, exc: Exception) -> StepFailed:
        failed = step_failed(command, exc, service=self.runtime.service, now=self.runtime.clock.now())
        if failed.retryable:
            log.warning("step failed in a bundle", error=f"{type(exc).__name__}: {exc}", exc_info=exc)
        else:
            log.warning("step refused", error=f"{type(exc).__name__}: {exc}")
        COMMANDS.labels(service=self.runtime.service, subject=subject, outcome="failed").inc()
        return failed

    async def _dead_letter(self, subject: str, body: bytes, reason: str, deliveries: int) -> None:
        """Capture one entry in the DLQ with ``reason``; the bundle goes on."""
        runtime = self.runtime
        DLQ_MESSAGES.labels(service=runtime.service, subject=subject).inc()
        COMMANDS.labels(service=runtime.service, subject=subject, outcome="dlq").inc()
        await dead_letter(
            runtime.broker, subject=subject, body=body, reason=reason, deliveries=deliveries, service=runtime.service
        )
