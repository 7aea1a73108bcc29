"""Step outputs in the KV bucket ``steps``: each written once, under ``<run_id>.<step>``, read by whoever needs it.

The coordinator stores a step's result event (the bytes it received) when it accepts it; later steps'
commands name the run, and the receiving service reads the outputs it needs here (see
:mod:`shared.bus.step_inputs`). The bucket keeps one revision per key and expires keys with the run
(``RUN_RETENTION_DAYS``). A bounded in-memory cache spares the reads of what this process wrote or read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from contracts import ContractError, decode, step_key, subjects
from contracts.messages import Message
from shared.bus.lru import LRU
from shared.errors import InvalidInputError

__all__ = ["StepStore"]

T = TypeVar("T")


class StepStore:
    def __init__(self, bucket: KeyValue, *, js: JetStreamContext | None = None, cache_size: int = 512) -> None:
        self.bucket = bucket
        self.js = js
        self._cache: LRU[str, Message] = LRU(cache_size)

    async def put(self, run_id: str, step: str, body: bytes, message: Message | None = None) -> None:
        """Store ``body`` (an encoded step result) as the output of ``step``; ``message`` is its decoded form."""
        key = step_key(run_id, step)
        await self.bucket.put(key, body)
        if message is not None:
            self._cache.put(key, message)

    async def find(self, run_id: str, step: str) -> Message | None:
        key = step_key(run_id, step)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            entry = await self.bucket.get(key)
        except KeyNotFoundError:
            return None
        if entry.value is None or entry.operation in ("DEL", "PURGE"):
            return None
        try:
            message = decode(entry.value)
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
