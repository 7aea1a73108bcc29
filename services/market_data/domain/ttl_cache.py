"""A small time-to-live cache driven by an injectable :class:`Clock`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from .clock import Clock, SystemClock

__all__ = ["TTLCache"]

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Entries live ``ttl_seconds``; beyond ``max_entries`` the least recently stored is evicted."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = 1024, clock: Clock | None = None) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock or SystemClock()
        self._data: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._data.get(key)
            if item is None or self._clock.monotonic() >= item[0]:
                if item is not None:
                    del self._data[key]
                self.misses += 1
                return None
            self.hits += 1
            return item[1]

    def set(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = (self._clock.monotonic() + self.ttl_seconds, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
