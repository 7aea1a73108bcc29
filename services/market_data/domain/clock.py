"""Injectable time: the HTTP provider's backoff, rate limiter and cache read time only from a
:class:`Clock`, so tests run instantly and deterministically with :class:`ManualClock`."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never decreasing."""
        ...

    def sleep(self, seconds: float) -> None: ...

    def now(self) -> dt.datetime:
        """Wall-clock time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it and records the duration."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._t = 0.0
        self._start = start or dt.datetime(2026, 5, 1, 21, 0, tzinfo=dt.UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._t += max(0.0, seconds)

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=self._t)
