"""A token-bucket rate limiter driven by an injectable :class:`Clock`."""

from __future__ import annotations

import threading

from .clock import Clock, SystemClock

__all__ = ["TokenBucket"]


class TokenBucket:
    """At most ``capacity`` requests in a burst, refilled at ``rate`` tokens per second.

    :meth:`acquire` takes one token, sleeping (on the clock) until one is available, and returns
    the seconds it waited.
    """

    def __init__(self, rate: float, capacity: float, clock: Clock | None = None) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock or SystemClock()
        self._tokens = float(capacity)
        self._last = self._clock.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def acquire(self) -> float:
        with self._lock:
            waited = 0.0
            self._refill()
            while self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate
                self._clock.sleep(wait)
                waited += wait
                self._refill()
            self._tokens -= 1.0
            return waited
