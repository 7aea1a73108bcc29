"""Chunks: a batch's dry runs driven together, one record and one message per step for many runs.

A chunk's runs are ordinary runs (:mod:`services.coordinator.domain.chunk`): each keeps its id, its record
in KV ``runs`` (written when it starts, which claims the run for this chunk, and when it ends, with its
report) and its public events. In between, their live state is one :class:`contracts.ChunkRecord`
(``chunk.<chunk_id>``), written with compare-and-set once per message that changes it; each step goes to its
service as one :class:`contracts.CommandBundle` and comes back as one :class:`contracts.ResultBundle`,
stored once in KV ``steps`` and referenced by the later steps. Deadlines and retry times are checked by
this process (:meth:`ChunkDriver.check`, scheduled at the chunk's next due time and by the watchdog), not
scheduled as timer messages.

Crash safety: every write is idempotent and everything published is derived from the stored state.
``activechunk.<chunk_id>`` marks a chunk not yet finished; a restarted coordinator resumes every marked
chunk (:meth:`ChunkDriver.resume`), and the batch's reconciliation rebuilds a chunk whose runs were claimed
but whose record was never written (:meth:`ChunkDriver.reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from nats.js.kv import KeyValue

from contracts import (
    ChunkRecord,
    Event,
    RebalanceRequested,
    Report,
    ResultBundle,
    RunRecord,
    StepFailed,
    batch_of_source,
    chunk_key,
    decode,
    decode_chunk,
    encode,
    encode_chunk,
    run_key,
    subjects,
)
from services.coordinator.domain.chunk import (
    Changes,
    apply_due_timers,
    apply_events,
    apply_run_change,
    cancel_run,
    chunk_effects,
    chunk_id_of,
    is_quiet,
    is_reporting,
    next_due,
    output_key,
    resume_pairs,
    start_chunk,
    with_output,
)
from services.coordinator.domain.steps import RetryPolicy
from services.coordinator.domain.transitions import TERMINAL, apply_report
from services.coordinator.domain.trust import entry_problem
from services.coordinator.store import ActiveRun, RunStore
from shared.bus import kv as kvops
from shared.bus.lru import LRU
from shared.bus.runtime import ServiceRuntime
from shared.errors import ConflictError
from shared.log import get_logger

__all__ = ["ChunkDriver"]

log = get_logger("coordinator.chunks")
_MARKER = "activechunk."
_ENTRIES_BETWEEN_YIELDS = 20
"""A chunk's result entries decoded between two yields to the event loop (single runs' messages)."""
ReportBuilder = Callable[[RunRecord, datetime], Awaitable[Report]]
Finished = Callable[[str, list[RunRecord], bool], Awaitable[None]]
"""Called with a batch id, runs of it that are finished, and whether they just finished (``False``: found
finished again, to count in the batch once more: idempotent)."""
Change = Callable[[ChunkRecord], Awaitable[tuple[ChunkRecord, Changes]]]


class ChunkDriver:
    """Starts chunks, applies their result bundles and timers, finishes them."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        policy: RetryPolicy,
        runs: Callable[[], Awaitable[RunStore]],
        *,
        build_report: ReportBuilder,
        finished: Finished,
        dead_letter: Callable[[str, bytes, str], Awaitable[None]],
    ) -> None:
        self.runtime = runtime
        self.policy = policy
        self._runs = runs
        self._build_report = build_report
        self._finished = finished
        self._dead_letter = dead_letter
        self._known: LRU[str, tuple[ChunkRecord, int]] = LRU(256)
        self._checks: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def bucket(self) -> KeyValue:
        return await self.runtime.kv(subjects.KV_RUNS)

    # ---- starting ----------------------------------------------------------------------------------
    async def start(self, batch_id: str, requests: Sequence[RebalanceRequested]) -> None:
        """Start ``requests`` (runs of one batch) in chunks of ``BATCH_CHUNK_SIZE``."""
        size = self.runtime.settings.batch_chunk_size
        groups = [requests[i : i + size] for i in range(0, len(requests), size)]
        await asyncio.gather(*(self._start_chunk(batch_id, group) for group in groups))

    async def _start_chunk(self, batch_id: str, requests: Sequence[RebalanceRequested]) -> None:
        now = self.runtime.clock.now()
        chunk_id = chunk_id_of(batch_id, [r.request.account_id for r in requests])
        chunk = start_chunk(chunk_id, batch_id, requests, now)
        claimed = await self._claim(chunk.runs, chunk_id)
        if not claimed:
            return
        await self._create(msgspec.structs.replace(chunk, runs=claimed))

    async def _claim(self, runs: Sequence[RunRecord], chunk_id: str) -> list[RunRecord]:
        """Write each run's first record, which claims it for this chunk; a run that exists belongs to the
        chunk (or single run) that wrote it, and is left to it (a finished one is counted in its batch)."""
        store = await self._runs()
        created = await asyncio.gather(*(store.create(run) for run in runs))
        claimed: list[RunRecord] = []
        finished: list[RunRecord] = []
        for run, new in zip(runs, created, strict=True):
            if new:
                claimed.append(run)
                continue
            existing = await store.get(run.run_id)
            if existing is not None and existing.chunk_id == chunk_id and existing.status not in TERMINAL:
                claimed.append(run)  # claimed by this chunk before a crash: its record may not exist
            elif existing is not None and existing.status in TERMINAL:
                finished.append(existing)
        batch_id = batch_of_source(finished[0].source) if finished else None
        if batch_id is not None:
            await self._finished(batch_id, finished, False)
        return claimed

    async def _create(self, chunk: ChunkRecord) -> None:
        """Store a new chunk (or resume it if it exists), mark it active, send its first bundle."""
        bucket = await self.bucket()
        revision = await kvops.create(bucket, chunk_key(chunk.chunk_id), encode_chunk(chunk))
        await kvops.create(bucket, f"{_MARKER}{chunk.chunk_id}", ActiveRun(run_id=chunk.chunk_id))
        if revision is None:
            log.info("chunk exists: resuming it", chunk_id=chunk.chunk_id)
            await self.resume_chunk(chunk.chunk_id)
            return
        self._known.put(chunk.chunk_id, (chunk, revision))
        log.info("chunk started", chunk_id=chunk.chunk_id, batch_id=chunk.batch_id, runs=len(chunk.runs))
        await self._publish(chunk, resume_pairs(chunk))
        self._schedule(chunk)

    # ---- results, timers, cancels ------------------------------------------------------------------
    async def on_results(self, bundle: ResultBundle, body: bytes) -> None:
        """Apply a (trusted) result bundle: its accepted outputs are stored once, then the chunk is written."""
        events: list[Event] = []
        for index, raw in enumerate(bundle.results):
            if index % _ENTRIES_BETWEEN_YIELDS == _ENTRIES_BETWEEN_YIELDS - 1:
                await asyncio.sleep(0)  # a single run's message may go in between (its own lane)
            entry = bytes(raw)
            try:
                event: object = decode(entry)
            except Exception as exc:
                await self._dead_letter(bundle.step, entry, f"undecodable entry of a result bundle: {exc}")
                continue
            problem = entry_problem(bundle, event)
            if problem:
                await self._dead_letter(bundle.step, entry, f"refused entry of a result bundle: {problem}")
                continue
            events.append(event)  # type: ignore[arg-type]
        if not events:
            return
        key = output_key(bundle.run_id, bundle.step, bundle.message_id)
        steps = await self.runtime.steps()
        stored: list[bool] = []
        results: list[Any] = [e for e in events if not isinstance(e, StepFailed)]  # the outputs

        async def change(chunk: ChunkRecord) -> tuple[ChunkRecord, Changes]:
            now = self.runtime.clock.now()
            await asyncio.sleep(0)
            after, changes = apply_events(chunk, events, now, self.policy)
            await asyncio.sleep(0)
            if not changes:
                return after, changes
            if results and not stored:  # before the record refers to it
                await steps.put_bundle(key, body, results)
                stored.append(True)
            after = with_output(after, bundle.step, key, changes)
            return await self._with_reports(after, changes, now)

        await self._transition(bundle.run_id, change, copy=True)

    async def check(self, chunk_id: str) -> None:
        """Fire the deadlines and retry times of the chunk's runs that have come."""

        async def change(chunk: ChunkRecord) -> tuple[ChunkRecord, Changes]:
            now = self.runtime.clock.now()
            after, changes = apply_due_timers(chunk, now, self.policy)
            for run_id, (before, run) in changes.items():
                step = before.current_step
                log.warning("chunk run's step timed out or retries", run_id=run_id, step=step, now=run.current_step)
            return (await self._with_reports(after, changes, now)) if changes else (after, changes)

        await self._transition(chunk_id, change)

    async def cancel(self, chunk_id: str, run_id: str, reason: str) -> None:
        async def change(chunk: ChunkRecord) -> tuple[ChunkRecord, Changes]:
            return cancel_run(chunk, run_id, reason, self.runtime.clock.now())

        await self._transition(chunk_id, change)

    async def _with_reports(self, chunk: ChunkRecord, changes: Changes, now: datetime) -> tuple[ChunkRecord, Changes]:
        """Build the report of every changed run now at ``generate-report`` (from its stored outputs)."""
        due = [after for _, after in changes.values() if is_reporting(after)]
        if not due:
            return chunk, changes
        steps = await self.runtime.steps()
        await steps.load_bundles([key for keys in chunk.outputs.values() for key in keys])  # after a restart
        merged = dict(changes)
        for run in due:
            report = await self._build_report(run, now)

            def reported_on(record: RunRecord, report: Report = report) -> RunRecord | None:
                return apply_report(record, report, now)

            chunk, reported = apply_run_change(chunk, run.run_id, reported_on, now)
            await asyncio.sleep(0)  # a single run's message may go in between two reports
            for run_id, (_, after) in reported.items():
                merged[run_id] = (changes[run_id][0], after)
        return chunk, merged

    # ---- the write and what follows it -------------------------------------------------------------
    async def _transition(self, chunk_id: str, change: Change, *, copy: bool = False) -> None:
        """Apply ``change`` with compare-and-set (re-read and re-applied on conflict), then publish what it
        calls for. A message that may be a copy (``copy``: a result bundle) and changes nothing on a fresh
        read resumes the chunk: its first handling may have failed after the write (the bus went away)."""
        bucket = await self.bucket()
        known = self._known.get(chunk_id)
        for _ in range(20):
            fresh = known is None
            if known is None:
                chunk, revision = await _read_chunk(bucket, chunk_id)
                if chunk is None:
                    log.info("message for a chunk that is gone (finished or expired)", chunk_id=chunk_id)
                    return
                self._known.put(chunk_id, (chunk, revision))
            else:
                chunk, revision = known
            after, changes = await change(chunk)
            if not changes:
                if not fresh:  # maybe stale: decide on a fresh read
                    known = None
                    continue
                if copy:
                    log.info("result bundle changed nothing: resuming the chunk", chunk_id=chunk_id)
                    await self.resume_chunk(chunk_id)
                return
            try:
                written = await kvops.update(bucket, chunk_key(chunk_id), encode_chunk(after), revision)
            except ConflictError:
                known = None
                continue
            self._known.put(chunk_id, (after, written))
            await self._after(after, changes)
            return
        raise ConflictError(f"{chunk_key(chunk_id)}: gave up after 20 conflicting writes")

    async def _after(self, chunk: ChunkRecord, changes: Changes) -> None:
        """Publish what the change calls for; a run that is now quiet (finished, its notification done) gets
        its final record, and only then is counted in its batch, so a finished batch's runs are all final."""
        await self._publish(chunk, list(changes.values()))
        await self._settle(chunk, [a for b, a in changes.values() if is_quiet(a) and not is_quiet(b)], new=True)

    async def _settle(self, chunk: ChunkRecord, quiet: list[RunRecord], *, new: bool) -> None:
        """Write the final records of ``quiet`` runs, finish the chunk if every run is quiet (else check it
        again at its next due time), then count them in the batch (``new``: they just became quiet)."""
        if quiet:
            await self._write_final(quiet)
        if all(is_quiet(run) for run in chunk.runs):  # before the last count: a finished batch keeps no chunk
            await self._finish(chunk)
        else:
            self._schedule(chunk)
        if quiet:  # a crash before this count leaves final records, which the batch's reconcile counts
            await self._finished(chunk.batch_id, quiet, new)

    async def _publish(self, chunk: ChunkRecord, pairs: Sequence[tuple[RunRecord | None, RunRecord]]) -> None:
        await asyncio.sleep(0)
        messages, _ = chunk_effects(chunk, pairs, self.runtime.clock.now(), self.policy)
        await self.runtime.publish_all(messages)

    async def _write_final(self, runs: Sequence[RunRecord]) -> None:
        """Each finished run's record, with its report: what ``GET /api/runs/{runId}`` shows from now on."""
        bucket = await self.bucket()
        await asyncio.gather(*(bucket.put(run_key(run.run_id), encode(run)) for run in runs))

    async def _finish(self, chunk: ChunkRecord) -> None:
        """Every run is finished and written: drop the chunk's outputs, record and marker."""
        self._cancel_check(chunk.chunk_id)
        if not self.runtime.settings.keep_step_outputs:
            await (await self.runtime.steps()).drop_run(chunk.chunk_id, [])
        await self._purge(chunk_key(chunk.chunk_id))
        await self._purge(f"{_MARKER}{chunk.chunk_id}")
        self._known.pop(chunk.chunk_id)
        log.info("chunk finished", chunk_id=chunk.chunk_id, batch_id=chunk.batch_id, runs=len(chunk.runs))

    async def _purge(self, key: str) -> None:
        """Remove ``key`` of KV ``runs`` from the bucket's stream (no delete marker left behind)."""
        await self.runtime.js.purge_stream(f"KV_{subjects.KV_RUNS}", subject=f"$KV.{subjects.KV_RUNS}.{key}")

    # ---- deadlines ---------------------------------------------------------------------------------
    def _schedule(self, chunk: ChunkRecord) -> None:
        """Check the chunk again at its next due time (a deadline, a retry, a notification's deadline)."""
        due = next_due(chunk, self.policy)
        self._cancel_check(chunk.chunk_id)
        if due is None:
            return
        delay = max(0.0, (due - self.runtime.clock.now()).total_seconds()) + 0.05
        loop = asyncio.get_running_loop()
        self._checks[chunk.chunk_id] = loop.call_later(delay, self._spawn_check, chunk.chunk_id)

    def _spawn_check(self, chunk_id: str) -> None:
        self._checks.pop(chunk_id, None)
        task = asyncio.create_task(self._safe_check(chunk_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _safe_check(self, chunk_id: str) -> None:
        try:
            await self.check(chunk_id)
        except Exception as exc:  # the server may be away: the watchdog checks again
            log.warning("chunk check failed", chunk_id=chunk_id, error=f"{type(exc).__name__}: {exc}")

    def _cancel_check(self, chunk_id: str) -> None:
        handle = self._checks.pop(chunk_id, None)
        if handle is not None:
            handle.cancel()

    async def stop(self) -> None:
        for handle in self._checks.values():
            handle.cancel()
        self._checks.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- recovery ----------------------------------------------------------------------------------
    async def active_chunks(self) -> list[str]:
        keys = await kvops.keys_matching(await self.bucket(), f"{_MARKER}*")
        return sorted(key.removeprefix(_MARKER) for key in keys)

    async def resume(self) -> int:
        """Resume every unfinished chunk (after a restart)."""
        chunk_ids = await self.active_chunks()
        for chunk_id in chunk_ids:
            await self.resume_chunk(chunk_id)
        await self.sweep(set(chunk_ids))
        return len(chunk_ids)

    async def watch(self) -> None:
        """The watchdog's round: check every unfinished chunk's deadlines (its own timers may be lost), and
        sweep chunk records no marker names."""
        active = await self.active_chunks()
        for chunk_id in active:
            await self.check(chunk_id)
        await self.sweep(set(active))

    async def sweep(self, active: set[str]) -> int:
        """Chunk records without a marker: a server killed before it stored a purge brings a finished chunk
        back (an older revision of it). One whose every run has its final record is finished and removed
        (never resumed: its runs' notifications were sent); any other lost only its marker and is resumed.
        Answers how many were removed."""
        bucket = await self.bucket()
        store = await self._runs()
        removed = 0
        for key in await kvops.keys_matching(bucket, f"{chunk_key('')}*"):
            chunk_id = key.removeprefix(chunk_key(""))
            if chunk_id in active:
                continue
            chunk, _ = await _read_chunk(bucket, chunk_id)
            if chunk is None:
                continue
            finals = [await store.get(run.run_id) for run in chunk.runs]
            if all(f is not None and is_quiet(f) for f in finals):
                log.warning("a finished chunk came back (a lost purge): removing it", chunk_id=chunk_id)
                await self._finish(chunk)
                removed += 1
            else:
                log.warning("a chunk without its marker: resuming it", chunk_id=chunk_id)
                await kvops.create(bucket, f"{_MARKER}{chunk_id}", ActiveRun(run_id=chunk_id))
                await self.resume_chunk(chunk_id)
        return removed

    async def resume_chunk(self, chunk_id: str) -> None:
        """Publish again what the chunk's runs wait for, count its finished runs in the batch, write the final
        records of its quiet runs, and finish it if every run is quiet."""
        bucket = await self.bucket()
        chunk, revision = await _read_chunk(bucket, chunk_id)
        if chunk is None:
            await self._purge(f"{_MARKER}{chunk_id}")
            return
        self._known.put(chunk_id, (chunk, revision))
        reporting = {r.run_id: (r, r) for r in chunk.runs if is_reporting(r)}
        if reporting:  # a coordinator stopped while building them: build them now
            await self._transition(chunk_id, lambda c: self._with_reports(c, reporting, self.runtime.clock.now()))
            chunk = (self._known.get(chunk_id) or (chunk, revision))[0]
        await self._publish(chunk, resume_pairs(chunk))
        await self._settle(chunk, [r for r in chunk.runs if is_quiet(r)], new=False)

    async def reconcile(self, batch_id: str, pointers: Sequence[RunRecord]) -> None:
        """The batch found these runs claimed by a chunk and not finished: rebuild a chunk whose record was
        never written (from its runs' first records, the same state), and make sure each is marked active."""
        by_chunk: dict[str, list[RunRecord]] = {}
        for run in pointers:
            by_chunk.setdefault(run.chunk_id, []).append(run)
        bucket = await self.bucket()
        for chunk_id, runs in by_chunk.items():
            chunk, _ = await _read_chunk(bucket, chunk_id)
            if chunk is not None:
                await kvops.create(bucket, f"{_MARKER}{chunk_id}", ActiveRun(run_id=chunk_id))
                quiet = [r for r in chunk.runs if is_quiet(r)]
                if quiet:  # counted again: a count lost with a crash is made good (idempotent)
                    await self._finished(batch_id, quiet, False)
                continue
            now = self.runtime.clock.now()
            log.warning("chunk record missing: rebuilding it from its runs", chunk_id=chunk_id, runs=len(runs))
            rebuilt = ChunkRecord(chunk_id=chunk_id, batch_id=batch_id, runs=list(runs), created_at=now, updated_at=now)
            await self._create(rebuilt)


async def _read_chunk(bucket: KeyValue, chunk_id: str) -> tuple[ChunkRecord | None, int]:
    data, revision = await kvops.read_bytes(bucket, chunk_key(chunk_id))
    return (None, 0) if data is None else (decode_chunk(data), revision)
