"""Step outputs in the KV bucket ``steps``: each written once, under ``<run_id>.<step>``, read by whoever needs it.

The coordinator stores a step's result event (the bytes it received) when it accepts it; later steps'
commands name the run, and the receiving service reads the outputs it needs here (see
:mod:`shared.bus.step_inputs`). The bucket keeps one revision per key and expires keys with the run
(``RUN_RETENTION_DAYS``). A bounded in-memory cache spares the reads of what this process wrote or read.

A batch chunk's runs travel in bundles (:mod:`contracts.bundles`): the coordinator stores each step's
:class:`~contracts.bundles.ResultBundle` once under a chunk key (``<chunk_id>.<step>.<digest>``) with
:meth:`StepStore.put_bundle`, and a service reads the keys a command bundle names once with
:meth:`StepStore.load_bundles`; both put every run's result in the cache under its own
``<run_id>.<step>``, so :meth:`StepStore.get` finds it there without a read. ``drop_run(chunk_id, [])``
purges a chunk's keys as it does a run's.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import TypeVar, cast

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from contracts import ContractError, Event, ResultBundle, StepFailed, decode, decode_as, step_key, subjects
from contracts.messages import Message
from shared.bus.lru import LRU
from shared.errors import InvalidInputError
from shared.log import get_logger

__all__ = ["DEFAULT_CACHE_SIZE", "StepStore", "bundle_results"]

T = TypeVar("T")
DEFAULT_CACHE_SIZE = 4096
"""Step outputs kept in memory: a few chunks of 25-50 runs times their seven steps (``STEP_CACHE_SIZE``)."""

log = get_logger("shared.bus.steps")


def bundle_results(body: bytes) -> list[Event]:
    """The step results of an encoded :class:`ResultBundle` (its ``StepFailed`` entries left out), stored
    compressed (:meth:`StepStore.put_bundle`) or not; :class:`ContractError` when the bundle or an entry does
    not decode."""
    if body[:1] != b"{":
        try:
            body = zlib.decompress(body)
        except zlib.error as exc:
            raise ContractError(f"stored result bundle does not decompress: {exc}") from None
    bundle = decode_as(body, ResultBundle)
    results: list[Event] = []
    for raw in bundle.results:
        message = decode(bytes(raw))
        # only the bundle's own step: an entry of another step (refused by the coordinator) is never an output
        if isinstance(message, Event) and not isinstance(message, StepFailed) and message.step == bundle.step:
            results.append(message)
    return results


class StepStore:
    def __init__(
        self, bucket: KeyValue, *, js: JetStreamContext | None = None, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        self.bucket = bucket
        self.js = js
        self._cache: LRU[str, Message] = LRU(cache_size)
        self._bundles: LRU[str, tuple[str, ...]] = LRU(cache_size)
        """Bundle keys loaded or written by this process -> the step keys of their results."""
        self.reads = 0
        """KV reads made (a test and a benchmark count them)."""

    async def put(self, run_id: str, step: str, body: bytes, message: Message | None = None) -> None:
        """Store ``body`` (an encoded step result) as the output of ``step``; ``message`` is its decoded form."""
        key = step_key(run_id, step)
        await self.bucket.put(key, body)
        if message is not None:
            self._cache.put(key, message)

    async def put_bundle(self, key: str, body: bytes, results: Sequence[Message | msgspec.Raw | bytes]) -> None:
        """Store ``body`` (an encoded :class:`ResultBundle`) under ``key`` (``<chunk_id>.<step>.<digest>``)
        and cache each of ``results`` (its entries, decoded or not) that is a step result under its run's
        step key; a ``StepFailed`` is not an output and is left out. Stored zlib-compressed: the runs'
        results repeat one structure (a chunk's loaded accounts shrink about fivefold)."""
        await self.bucket.put(key, zlib.compress(body, 1))
        events: list[Event] = []
        for result in results:
            message = decode(bytes(result)) if isinstance(result, msgspec.Raw | bytes) else result
            if isinstance(message, Event) and not isinstance(message, StepFailed):
                events.append(message)
        self._remember(key, events)

    async def load_bundles(self, keys: Iterable[str]) -> int:
        """Read each stored :class:`ResultBundle` of ``keys`` once and cache every run's result in it, so
        :meth:`get` finds each run's output without a read. A key this process loaded or wrote already is not
        read again while all its results are still cached. A missing key (expired, or never stored) and one
        that does not decode are skipped (logged): the runs that needed it fail on their missing input.
        Answers how many keys were read."""
        read = 0
        for key in dict.fromkeys(keys):
            cached = self._bundles.get(key)
            if cached is not None and all(k in self._cache for k in cached):
                continue
            entry = await self._read(key)
            read += 1
            if entry is None:
                log.warning("step results bundle not found", key=key)
                continue
            try:
                events = bundle_results(entry)
            except ContractError as exc:
                log.warning("step results bundle does not decode", key=key, error=str(exc))
                continue
            self._remember(key, events)
        return read

    def _remember(self, key: str, events: Sequence[Event]) -> None:
        keys = []
        for event in events:
            run_key = step_key(event.run_id, event.step)
            self._cache.put(run_key, cast(Message, event))
            keys.append(run_key)
        self._bundles.put(key, tuple(keys))

    async def _read(self, key: str) -> bytes | None:
        self.reads += 1
        try:
            entry = await self.bucket.get(key)
        except KeyNotFoundError:
            return None
        if entry.value is None or entry.operation in ("DEL", "PURGE"):
            return None
        return bytes(entry.value)

    async def find(self, run_id: str, step: str) -> Message | None:
        key = step_key(run_id, step)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        value = await self._read(key)
        if value is None:
            return None
        try:
            message = decode(value)
        except ContractError as exc:
            raise InvalidInputError(f"output of {step} of run {run_id} does not decode: {exc}") from None
        self._cache.put(key, message)
        return message

    async def get(self, run_id: str, step: str, type_: type[T]) -> T:
        """The output of ``step`` as ``type_``; :class:`InvalidInputError` when it is missing or another type."""
        message = await self.find(run_id, step)
        if message is None:
            raise InvalidInputError(f"run {run_id} has no stored output of {step} (expired, or the step never ran)")
        if not isinstance(message, type_):
            raise InvalidInputError(f"output of {step} of run {run_id} is a {type(message).__name__}")
        return message

    async def drop_run(self, run_id: str, steps: Iterable[str]) -> None:
        """Remove every stored output of a finished run in one purge of the bucket's stream (no delete
        markers left behind); ``steps`` are the outputs to forget from the cache."""
        for step in steps:
            self._cache.pop(step_key(run_id, step))
        if self.js is None:
            raise RuntimeError("StepStore.drop_run needs the JetStream context")
        await self.js.purge_stream(f"KV_{subjects.KV_STEPS}", subject=f"$KV.{subjects.KV_STEPS}.{run_id}.>")
