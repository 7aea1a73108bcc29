"""A chunk of a batch's dry runs, driven together: pure functions of its state (:class:`contracts.ChunkRecord`).

Every run of a chunk follows the single run's saga step for step (:mod:`.transitions`): the same
transitions, applied to each run inside the chunk's one record. What changes is how the effects travel:
the commands of one step for all the chunk's runs that call for it go out as one
:class:`contracts.CommandBundle`, and no timer message is scheduled per run; the coordinator checks the
chunk's runs against their deadlines and retry times itself (:func:`apply_due_timers`, at
:func:`next_due`). The public events of each run (report generated, run completed or failed) are
published per run, as for any run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import msgspec

from contracts import (
    ChunkRecord,
    CommandBundle,
    Event,
    RebalanceRequested,
    RunRecord,
    StepFailed,
    StepTimerFired,
    encode,
    subjects,
)
from services.coordinator.domain.effects import due_by, effects, final_effects, resume_effects
from services.coordinator.domain.steps import SERVICE_STEPS, RetryPolicy
from services.coordinator.domain.transitions import (
    TERMINAL,
    apply_cancel,
    apply_failure,
    apply_result,
    apply_timer,
    start_run,
)
from shared.bus.outgoing import Outgoing

__all__ = [
    "Changes",
    "apply_due_timers",
    "apply_events",
    "chunk_effects",
    "chunk_id_of",
    "eligible",
    "is_quiet",
    "is_reporting",
    "next_due",
    "output_key",
    "start_chunk",
    "with_output",
]

Changes = dict[str, tuple[RunRecord, RunRecord]]
"""Run id -> (its state before the message, its state after): only the runs the message changed."""

_COMMAND_SUBJECTS = {subject: step for step, (_, subject) in SERVICE_STEPS.items()}
STEP_INPUTS: dict[str, tuple[str, ...]] = {
    "analyze-market-conditions": ("load-portfolio",),
    "tax-context": ("load-portfolio",),
    "calculate-rebalancing": ("load-portfolio", "analyze-market-conditions", "tax-context"),
    "tax-optimization": ("load-portfolio", "tax-context", "calculate-rebalancing"),
    "execute-trades": ("calculate-rebalancing",),
    "update-portfolio": ("calculate-rebalancing", "execute-trades", "tax-optimization"),
}
"""The earlier outputs each step's service reads (``shared.bus.step_inputs``): a bundle names only those."""


def eligible(request_dry_run: bool, require_approval: bool, chunk_size: int) -> bool:
    """Whether a batch's runs travel in chunks: dry runs that wait for no person, chunks of two or more."""
    return request_dry_run and not require_approval and chunk_size > 1


def chunk_id_of(batch_id: str, account_ids: Sequence[str]) -> str:
    """The chunk of these accounts of a batch: the same members always name the same chunk."""
    digest = hashlib.blake2b(f"{batch_id}:{','.join(account_ids)}".encode(), digest_size=10).hexdigest()
    return f"chunk-{digest}"


def start_chunk(chunk_id: str, batch_id: str, requests: Sequence[RebalanceRequested], now: datetime) -> ChunkRecord:
    """A new chunk: each request's run started as a single run is (its first step under way)."""
    runs = [msgspec.structs.replace(start_run(r, now), chunk_id=chunk_id) for r in requests]
    return ChunkRecord(chunk_id=chunk_id, batch_id=batch_id, runs=runs, created_at=now, updated_at=now)


def _replace_runs(chunk: ChunkRecord, changes: Changes, now: datetime) -> ChunkRecord:
    runs = [changes[r.run_id][1] if r.run_id in changes else r for r in chunk.runs]
    return msgspec.structs.replace(chunk, runs=runs, updated_at=now)


def _record(changes: Changes, before: RunRecord, after: RunRecord) -> None:
    first = changes.get(before.run_id)
    changes[before.run_id] = (first[0] if first else before, after)


def apply_events(
    chunk: ChunkRecord, events: Iterable[Event], now: datetime, policy: RetryPolicy
) -> tuple[ChunkRecord, Changes]:
    """Apply step results and failures to the chunk's runs; an event for a run not in the chunk, or that
    its run does not await (a copy, a stale attempt), changes nothing."""
    current = {r.run_id: r for r in chunk.runs}
    changes: Changes = {}
    for event in events:
        run = current.get(event.run_id)
        if run is None:
            continue
        if isinstance(event, StepFailed):
            after = apply_failure(run, event, now, policy)
        else:
            after = apply_result(run, event, now)  # type: ignore[arg-type]  # a StepResult (trust checked)
        if after is not None:
            _record(changes, run, after)
            current[run.run_id] = after
    return (_replace_runs(chunk, changes, now), changes) if changes else (chunk, changes)


def apply_run_change(
    chunk: ChunkRecord, run_id: str, change: Callable[[RunRecord], RunRecord | None], now: datetime
) -> tuple[ChunkRecord, Changes]:
    """Apply one pure change (a report, a cancel) to one run of the chunk."""
    for run in chunk.runs:
        if run.run_id == run_id:
            after = change(run)
            if after is None:
                return chunk, {}
            changes = {run_id: (run, after)}
            return _replace_runs(chunk, changes, now), changes
    return chunk, {}


def cancel_run(chunk: ChunkRecord, run_id: str, reason: str, now: datetime) -> tuple[ChunkRecord, Changes]:
    return apply_run_change(chunk, run_id, lambda r: apply_cancel(r, now, reason), now)


def _due_timer(run: RunRecord) -> StepTimerFired | None:
    """The timer a single run would have pending now: its running step's deadline or its retry."""
    for step in run.steps:
        if step.status == "running" and step.name != "generate-report":
            kind, attempt = "deadline", step.attempts
        elif step.status == "retrying":
            kind, attempt = "retry", step.attempts + 1
        else:
            continue
        return StepTimerFired(
            run_id=run.run_id,
            message_id=f"{run.run_id}:{step.name}:{attempt}:{kind}",
            occurred_at=run.updated_at,
            step=step.name,
            attempt=attempt,
            kind=kind,  # type: ignore[arg-type]
        )
    return None


def apply_due_timers(chunk: ChunkRecord, now: datetime, policy: RetryPolicy) -> tuple[ChunkRecord, Changes]:
    """Fire every run's deadline or retry time that has come (the chunk's runs have no timer messages)."""
    changes: Changes = {}
    for run in chunk.runs:
        due = _due(run, policy)
        timer = _due_timer(run) if due is not None and due <= now else None
        after = apply_timer(run, timer, now, policy) if timer is not None else None
        if after is not None:
            _record(changes, run, after)
    return (_replace_runs(chunk, changes, now), changes) if changes else (chunk, changes)


def next_due(chunk: ChunkRecord, policy: RetryPolicy) -> datetime | None:
    """When the chunk must next be checked for deadlines and retries (``None``: no run waits)."""
    dues = [d for d in (_due(r, policy) for r in chunk.runs if not is_reporting(r)) if d is not None]
    return min(dues) if dues else None


def _due(run: RunRecord, policy: RetryPolicy) -> datetime | None:
    """A run's next deadline or retry time; for a finished run, its notification's deadline."""
    due = due_by(run, policy)
    if due is not None or run.step("send-notifications").status != "running":
        return due
    return run.updated_at + timedelta(seconds=policy.step_timeout(run, "send-notifications"))


def is_reporting(run: RunRecord) -> bool:
    """A run whose ``generate-report`` step is under way: the coordinator builds its report at once."""
    return run.status == "running" and run.current_step == "generate-report"


def is_quiet(run: RunRecord) -> bool:
    """A finished run with no step under way (its notification sent or given up): its final state."""
    return run.status in TERMINAL and not any(s.status in ("running", "retrying") for s in run.steps)


def output_key(chunk_id: str, step: str, message_id: str) -> str:
    """Where a result bundle of ``step`` is stored (KV ``steps``): one key per bundle, under the chunk."""
    digest = hashlib.blake2b(message_id.encode(), digest_size=6).hexdigest()
    return f"{chunk_id}.{step}.{digest}"


def with_output(chunk: ChunkRecord, step: str, key: str, changes: Changes) -> ChunkRecord:
    """Note that ``key`` holds outputs of ``step`` (when a result in it was accepted)."""
    accepted = any(step in after.outputs and step not in before.outputs for before, after in changes.values())
    known = chunk.outputs.get(step, [])
    if not accepted or key in known:
        return chunk
    return msgspec.structs.replace(chunk, outputs={**chunk.outputs, step: [*known, key]})


BUNDLE_BYTES = 512 * 1024
"""The most a command bundle's entries may weigh together; more go in the next bundle of the step (a server's
payload limit is 1 MB by default; a notification carries its run's report)."""


def chunk_effects(
    chunk: ChunkRecord,
    pairs: Iterable[tuple[RunRecord | None, RunRecord]],
    now: datetime,
    policy: RetryPolicy,
    *,
    max_bytes: int = BUNDLE_BYTES,
) -> tuple[list[Outgoing], list[str]]:
    """The messages the runs' transitions call for, with each step's commands in one bundle (or as few as
    keep each under ``max_bytes``), and the runs whose ``generate-report`` is now due. Per-run timers are
    dropped (see :func:`next_due`)."""
    by_step: dict[str, list[Outgoing]] = {}
    singles: list[Outgoing] = []
    reports: list[str] = []
    for before, after in pairs:
        if before is not None:
            out = effects(before, after, now, policy)
        elif after.status in TERMINAL:  # published again: the same message ids, JetStream keeps one
            out = final_effects(after, now, policy)
        else:
            out = resume_effects(after, now, policy)
        if out.report_due:
            reports.append(after.run_id)
        for message in out.messages:
            step = _COMMAND_SUBJECTS.get(message.subject)
            (by_step.setdefault(step, []) if step else singles).append(message)
    bundles = [
        _bundle(chunk, step, part, now)
        for step, commands in by_step.items()
        for part in _parts(sorted(commands, key=lambda c: c.msg_id), max_bytes)
    ]
    return [*bundles, *singles], reports


def _parts(commands: list[Outgoing], max_bytes: int) -> list[list[tuple[str, bytes]]]:
    """The encoded commands in order, in groups that each weigh at most ``max_bytes`` (one alone may weigh
    more: it goes by itself)."""
    parts: list[list[tuple[str, bytes]]] = [[]]
    size = 0
    for command in commands:
        body = encode(command.message)
        if parts[-1] and size + len(body) > max_bytes:
            parts.append([])
            size = 0
        parts[-1].append((command.msg_id, body))
        size += len(body)
    return parts


def _bundle(chunk: ChunkRecord, step: str, commands: list[tuple[str, bytes]], now: datetime) -> Outgoing:
    """One bundle of ``step``; its id is derived from its entries' ids (sent again, it is the same message)."""
    digest = hashlib.blake2b("\n".join(msg_id for msg_id, _ in commands).encode(), digest_size=8).hexdigest()
    message_id = f"{chunk.chunk_id}:{step}:{digest}"
    bundle = CommandBundle(
        run_id=chunk.chunk_id,
        message_id=message_id,
        occurred_at=now,
        step=step,
        commands=[msgspec.Raw(body) for _, body in commands],
        inputs={s: list(chunk.outputs[s]) for s in STEP_INPUTS.get(step, ()) if s in chunk.outputs},
    )
    return Outgoing(subjects.bundle_subject(SERVICE_STEPS[step][1]), bundle, message_id)


def resume_pairs(chunk: ChunkRecord) -> list[tuple[RunRecord | None, RunRecord]]:
    """Every run of the chunk with what it may still wait for (a restart publishes it again)."""
    return [(None, run) for run in chunk.runs]
