"""Provisioning on a real nats-server: what already has the declared configuration is not written again
(on a cluster every update is a meta-leader proposal, and eight services provision at start-up), what
differs is updated, and a transient failure (an API time-out while leaders are elected) is retried."""

from __future__ import annotations

from collections import Counter
from typing import Any

import nats
import nats.errors
import pytest
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError

from shared.bus.provisioning import provision, provision_patiently
from shared.bus.topology import consumers, streams
from shared.settings import Settings
from shared.testing import NatsServer

pytestmark = pytest.mark.integration


class CountingJs:
    """A JetStream context that counts the writes provisioning makes and can fail its first calls."""

    def __init__(self, js: JetStreamContext, *, fail_first: int = 0, error: Exception | None = None) -> None:
        self._js = js
        self.calls: Counter[str] = Counter()
        self._fail = fail_first
        self._error = error or nats.errors.TimeoutError()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._js, name)
        if not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self._fail > 0:
                self._fail -= 1
                raise self._error
            self.calls[name] += 1
            return await target(*args, **kwargs)

        return call


async def test_a_provisioned_system_is_not_written_again_and_a_change_is(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        settings = Settings(nats_url=nats_server.url)
        first = CountingJs(nc.jetstream())
        await provision(first, settings)  # type: ignore[arg-type]
        assert first.calls["add_stream"] == len(streams())
        assert first.calls["add_consumer"] == len(consumers())

        again = CountingJs(nc.jetstream())
        await provision(again, settings)  # type: ignore[arg-type]
        assert again.calls["update_stream"] == again.calls["add_consumer"] == again.calls["add_stream"] == 0

        changed = CountingJs(nc.jetstream())
        await provision(changed, settings.model_copy(update={"duplicate_window_seconds": 60.0}))  # type: ignore[arg-type]
        assert changed.calls["update_stream"] == len(streams())
        assert (await nc.jetstream().stream_info("CMD")).config.duplicate_window == 60.0

        bigger_ack = CountingJs(nc.jetstream())
        await provision(bigger_ack, settings.model_copy(update={"ack_wait_seconds": 45.0}))  # type: ignore[arg-type]
        assert bigger_ack.calls["add_consumer"] == len(consumers())
    finally:
        await nc.close()


async def test_transient_failures_are_retried_and_others_raised(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        settings = Settings(nats_url=nats_server.url)
        retries: list[str] = []
        flaky = CountingJs(nc.jetstream(), fail_first=2)
        await provision_patiently(
            flaky,  # type: ignore[arg-type]
            settings,
            first_delay=0.01,
            on_retry=lambda attempt, exc: retries.append(f"{attempt} {type(exc).__name__}"),
        )
        assert retries == ["1 TimeoutError", "2 TimeoutError"]
        assert (await nc.jetstream().stream_info("CMD")).config.name == "CMD"

        refused = CountingJs(nc.jetstream(), fail_first=1, error=BadRequestError())
        with pytest.raises(BadRequestError):
            await provision_patiently(refused, settings, first_delay=0.01)  # type: ignore[arg-type]

        stuck = CountingJs(nc.jetstream(), fail_first=100)
        with pytest.raises(nats.errors.TimeoutError):
            await provision_patiently(stuck, settings, attempts=3, first_delay=0.01)  # type: ignore[arg-type]
    finally:
        await nc.close()
