"""Market snapshots in the KV bucket ``snapshots``, cached in memory (see :mod:`contracts.snapshot`).

Every service that reads a snapshot goes through one :class:`SnapshotStore` per process: a bounded LRU in
front of KV, so a process reads each snapshot once however many runs use it. Writes are ``create``: a
snapshot's key is its content, so when two processes build the same one at once, the second finds it
there (or writes the same bytes) and both go on with identical content.
"""

from __future__ import annotations

from typing import TypeVar

from nats.js.kv import KeyValue

from contracts import SnapshotAnalysis, SnapshotPrices, snapshot_key
from contracts.snapshot import SNAPSHOT_ANALYSIS, SNAPSHOT_PRICES
from shared.bus import kv as kvops
from shared.bus.lru import LRU
from shared.errors import NotFoundError

__all__ = ["SnapshotStore"]

T = TypeVar("T", SnapshotPrices, SnapshotAnalysis)


class SnapshotStore:
    def __init__(self, bucket: KeyValue, *, cache_size: int = 8) -> None:
        self.bucket = bucket
        self._cache: LRU[str, SnapshotPrices | SnapshotAnalysis] = LRU(2 * cache_size)
        self.reads = 0
        """KV reads so far (a cache miss each): what the cache saves is visible in tests and benches."""

    async def _get(self, snapshot: str, part: str, type_: type[T]) -> T | None:
        key = snapshot_key(snapshot, part)
        cached = self._cache.get(key)
        if isinstance(cached, type_):
            return cached
        self.reads += 1
        value, _ = await kvops.read(self.bucket, key, type_)
        if value is not None:
            self._cache.put(key, value)
        return value

    async def _put(self, part: str, value: SnapshotPrices | SnapshotAnalysis) -> None:
        key = snapshot_key(value.snapshot_id, part)
        await kvops.create(self.bucket, key, value)  # None: built meanwhile by another process, same content
        self._cache.put(key, value)

    async def find_prices(self, snapshot: str) -> SnapshotPrices | None:
        return await self._get(snapshot, SNAPSHOT_PRICES, SnapshotPrices)

    async def find_analysis(self, snapshot: str) -> SnapshotAnalysis | None:
        return await self._get(snapshot, SNAPSHOT_ANALYSIS, SnapshotAnalysis)

    async def prices(self, snapshot: str) -> SnapshotPrices:
        """The prices part of ``snapshot``; :class:`NotFoundError` when it is not stored (expired)."""
        found = await self.find_prices(snapshot)
        if found is None:
            raise NotFoundError(f"market snapshot {snapshot}: no prices stored (expired or never built)")
        return found

    async def analysis(self, snapshot: str) -> SnapshotAnalysis:
        found = await self.find_analysis(snapshot)
        if found is None:
            raise NotFoundError(f"market snapshot {snapshot}: no analysis stored (expired or never built)")
        return found

    async def put_prices(self, value: SnapshotPrices) -> None:
        await self._put(SNAPSHOT_PRICES, value)

    async def put_analysis(self, value: SnapshotAnalysis) -> None:
        await self._put(SNAPSHOT_ANALYSIS, value)
