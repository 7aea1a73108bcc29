"""Batches of runs: start them paced, count them as they finish (the coordinator owns KV ``batches``).

A batch's state is one small record (a character per account) written with compare-and-set; its
accounts are written once beside it. The batch releases at most ``max_in_flight`` runs at a time and
one more each time one of its runs finishes (:mod:`services.coordinator.domain.batch`). Each run is an
ordinary run (its id derived from the batch and the account), started by the same code as any other.

Block orders (:meth:`RetryPolicy.in_block`): a run that reaches ``execute-trades`` waits there for its
batch (:meth:`BatchDriver.run_parked`, state ``w``, no longer in flight). Once no account of the batch is
pending or planning, each waiting run's ``execute-trades`` command is sent again with the block's size
(:meth:`BatchDriver._send_block`); the execution service trades the block when it holds that many runs'
trades. A waiting run's deadline is ``BLOCK_WAIT_SECONDS``, so no deadline fires while the batch plans.

Crash safety: a released account whose run was never stored is started again, and a finished run whose
end the batch did not record is recorded, by :meth:`BatchDriver.reconcile` (at start-up for every
unfinished batch, then every ``BATCH_RECONCILE_SECONDS``, and when a batch request is redelivered); every
step here is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import msgspec
from nats.js.kv import KeyValue

from contracts import (
    BATCH_SOURCE_PREFIX,
    BatchAccounts,
    BatchRecord,
    BatchRequested,
    RebalanceRequested,
    RunRecord,
    batch_accounts_key,
    batch_key,
    batch_of_source,
    batch_run_id,
    subjects,
)
from services.coordinator.domain import (
    PIVOT,
    RetryPolicy,
    build_command,
    new_batch,
    released_between,
    unique_accounts,
)
from services.coordinator.domain.batch import block_size, finish_runs, park_run
from services.coordinator.domain.chunk import eligible
from services.coordinator.domain.steps import SERVICE_STEPS
from services.coordinator.store import TERMINAL, ActiveRun, RunStore

if TYPE_CHECKING:
    from services.coordinator.chunks import ChunkDriver
from shared.bus import kv as kvops
from shared.bus.outgoing import Outgoing
from shared.bus.runtime import ServiceRuntime
from shared.log import get_logger

__all__ = ["BatchDriver"]

log = get_logger("coordinator.batch")
RunStarter = Callable[[RebalanceRequested], Awaitable[None]]
RunStoreProvider = Callable[[], Awaitable[RunStore]]
_CACHED_BATCHES = 64
_ACTIVE = "active."


class BatchDriver:
    """Starts each batch's runs, paced, and records each run's end in its batch."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        start_run: RunStarter,
        runs: RunStoreProvider,
        policy: RetryPolicy | None = None,
        chunks: ChunkDriver | None = None,
    ) -> None:
        self.runtime = runtime
        self._chunks = chunks
        self.policy = policy or RetryPolicy()
        self._start_run = start_run
        self._runs = runs
        self._bucket: KeyValue | None = None
        self._accounts: OrderedDict[str, tuple[BatchAccounts, dict[str, int]]] = OrderedDict()
        self._watch: asyncio.Task[None] | None = None

    async def bucket(self) -> KeyValue:
        if self._bucket is None:
            self._bucket = await self.runtime.kv(subjects.KV_BATCHES)
        return self._bucket

    # ---- entry points ------------------------------------------------------------------------------
    async def requested(self, request: BatchRequested) -> None:
        """Store a new batch and start its first runs; a batch that exists is reconciled instead."""
        bucket = await self.bucket()
        batch_id = request.run_id
        accounts = BatchAccounts(batch_id=batch_id, account_ids=unique_accounts(request.account_ids))
        chunk_size = self.runtime.settings.batch_chunk_size
        chunked = self._chunks is not None and eligible(
            request.request.dry_run, request.request.require_approval, chunk_size
        )
        record = new_batch(
            request,
            self.runtime.clock.now(),
            default_max_in_flight=self._max_in_flight,
            release_step=chunk_size if chunked else 1,
        )
        await kvops.create(bucket, batch_accounts_key(batch_id), accounts)  # exists after a crash: same value
        if await kvops.create(bucket, batch_key(batch_id), record) is None:
            log.info("duplicate batch request: reconciling", batch_id=batch_id)
            await self.reconcile(batch_id)
            return
        if record.status == "running":
            await kvops.create(bucket, f"{_ACTIVE}{batch_id}", ActiveRun(run_id=batch_id))
        log.info("batch started", batch_id=batch_id, total=record.total, max_in_flight=record.max_in_flight)
        await self._start(record, accounts, released_between(None, record))

    async def run_finished(self, run: RunRecord) -> None:
        """Record a finished run in its batch (if it has one) and start the accounts it lets through."""
        batch_id = batch_of_source(run.source)
        if batch_id is not None:
            await self.runs_finished(batch_id, [run])

    async def runs_finished(self, batch_id: str, runs: Sequence[RunRecord]) -> None:
        """Record finished runs of one batch (a chunk's, or one run's) in one write; start the accounts they
        let through. Idempotent: a run already counted changes nothing."""
        ended = [run for run in runs if run.status in TERMINAL and batch_of_source(run.source) == batch_id]
        if not ended:
            return
        found = await self._accounts_of(batch_id)
        if found is None:
            log.warning("runs of an unknown batch", batch_id=batch_id, run_id=ended[0].run_id)
            return
        accounts, index_of = found
        indexed = [(index_of[r.request.account_id], r.status) for r in ended if r.request.account_id in index_of]
        if not indexed:
            return
        now = self.runtime.clock.now()
        bucket = await self.bucket()
        try:
            before, after = await kvops.update_with_retry(
                bucket, batch_key(batch_id), BatchRecord, lambda b: finish_runs(b, indexed, now)
            )
        except KeyError:  # expired with its retention
            return
        if after is None:
            return
        if after.status == "completed":
            await bucket.delete(f"{_ACTIVE}{batch_id}")
            log.info("batch completed", batch_id=batch_id, completed=after.count("c"), failed=after.count("f"))
        await self._start(after, accounts, released_between(before, after))
        if block_size(after) and block_size(before) != block_size(after):
            await self._send_block(after, accounts)  # the last planning run ended, or a waiting one failed

    async def run_parked(self, run: RunRecord) -> None:
        """A run of a block batch reached ``execute-trades``: it waits for the block (no longer in flight),
        the next accounts are released, and once the whole batch is planned the block goes out."""
        batch_id = batch_of_source(run.source)
        found = None if batch_id is None else await self._accounts_of(batch_id)
        if batch_id is None or found is None:
            return
        accounts, index_of = found
        index = index_of.get(run.request.account_id)
        if index is None:
            return
        now = self.runtime.clock.now()
        try:
            before, after = await kvops.update_with_retry(
                await self.bucket(), batch_key(batch_id), BatchRecord, lambda b: park_run(b, index, now)
            )
        except KeyError:
            return
        if after is None:
            return
        log.info("run waits for its batch's block", batch_id=batch_id, waiting=after.count("w"))
        await self._start(after, accounts, released_between(before, after))
        if block_size(after):
            await self._send_block(after, accounts)

    async def _send_block(self, record: BatchRecord, accounts: BatchAccounts) -> None:
        """Every waiting run's ``execute-trades`` command again, with the block's size (its own message id,
        so each size is sent once); a run no longer waiting at the step is skipped."""
        size = block_size(record)
        store = await self._runs()
        now = self.runtime.clock.now()
        _, subject = SERVICE_STEPS[PIVOT]
        out = []
        for index, state in enumerate(record.states):
            if state != "w":
                continue
            run = await store.get(batch_run_id(record.batch_id, accounts.account_ids[index]))
            if run is None or run.status != "running" or run.current_step != PIVOT:
                continue
            step = run.step(PIVOT)
            if step.status != "running":
                continue
            command = build_command(run, PIVOT, step.attempts, now, block=True, block_size=size)
            out.append(Outgoing(subject, command, command.message_id))
        log.info("block orders released", batch_id=record.batch_id, runs=size, sent=len(out))
        await self.runtime.publish_all(out)

    async def reconcile(self, batch_id: str) -> None:
        """Start every released account whose run is missing; record every finished run not yet counted."""
        record, _ = await kvops.read(await self.bucket(), batch_key(batch_id), BatchRecord)
        found = await self._accounts_of(batch_id)
        if record is None or found is None:
            return
        accounts, _ = found
        released = [i for i, state in enumerate(record.states) if state in "rw"]
        store = await self._runs()
        missing = []
        chunked: list[RunRecord] = []
        for index in released:
            run = await store.get(batch_run_id(batch_id, accounts.account_ids[index]))
            if run is None:
                missing.append(index)
            elif run.status in TERMINAL:
                await self.run_finished(run)
            elif run.chunk_id and self._chunks is not None:
                chunked.append(run)
            elif record.states[index] == "r" and run.current_step == PIVOT and self.policy.in_block(run):
                await self.run_parked(run)  # parked, but the batch never recorded it (a crash)
        if chunked and self._chunks is not None:
            await self._chunks.reconcile(batch_id, chunked)
        await self._start(record, accounts, missing)
        if record.status == "completed":
            await (await self.bucket()).delete(f"{_ACTIVE}{batch_id}")
        elif not missing:
            current, _ = await kvops.read(await self.bucket(), batch_key(batch_id), BatchRecord)
            if current is not None and block_size(current):
                await self._send_block(current, accounts)  # again: its commands may have been lost

    async def resume(self) -> int:
        """Reconcile every unfinished batch (after a restart, and then every ``BATCH_RECONCILE_SECONDS``)."""
        keys = await kvops.keys_matching(await self.bucket(), f"{_ACTIVE}*")
        for key in sorted(keys):
            await self.reconcile(key.removeprefix(_ACTIVE))
        return len(keys)

    async def start_watch(self) -> None:
        """Resume unfinished batches now, then keep reconciling them: a write the server lost in a crash
        (a run's end counted nowhere, a released run never stored) delays a batch, never stalls it."""
        log.info("resumed unfinished batches", count=await self.resume())
        self._watch = asyncio.create_task(self._keep_reconciling())

    async def stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None

    async def _keep_reconciling(self) -> None:
        while True:
            await asyncio.sleep(self.runtime.settings.batch_reconcile_seconds)
            try:
                await self.resume()
            except Exception as exc:  # the server may be away: the next round tries again
                log.warning("batch reconcile failed", error=f"{type(exc).__name__}: {exc}")

    # ---- helpers -----------------------------------------------------------------------------------
    @property
    def _max_in_flight(self) -> int:
        return self.runtime.settings.batch_max_in_flight

    async def _start(self, record: BatchRecord, accounts: BatchAccounts, indices: list[int]) -> None:
        if not indices:
            return
        now = self.runtime.clock.now()
        source = f"{BATCH_SOURCE_PREFIX}{record.batch_id}"
        requests = []
        for index in indices:
            account_id = accounts.account_ids[index]
            run_id = batch_run_id(record.batch_id, account_id)
            request = msgspec.structs.replace(record.request, account_id=account_id)
            requests.append(
                RebalanceRequested(run_id=run_id, message_id=run_id, occurred_at=now, request=request, source=source)
            )
        chunk_size = self.runtime.settings.batch_chunk_size
        if self._chunks is not None and eligible(record.request.dry_run, record.request.require_approval, chunk_size):
            await self._chunks.start(record.batch_id, requests)
            return
        await asyncio.gather(*(self._start_run(r) for r in requests))

    async def _accounts_of(self, batch_id: str) -> tuple[BatchAccounts, dict[str, int]] | None:
        cached = self._accounts.get(batch_id)
        if cached is not None:
            self._accounts.move_to_end(batch_id)
            return cached
        accounts, _ = await kvops.read(await self.bucket(), batch_accounts_key(batch_id), BatchAccounts)
        if accounts is None:
            return None
        entry = (accounts, {account: i for i, account in enumerate(accounts.account_ids)})
        self._accounts[batch_id] = entry
        while len(self._accounts) > _CACHED_BATCHES:
            self._accounts.popitem(last=False)
        return entry
