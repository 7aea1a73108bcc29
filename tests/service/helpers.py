"""Run one service's handlers on FastStream's in-memory broker (no acks, no redelivery, no KV).

These tests check a handler's decode → domain → publish path; the real-server tiers check the rest.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from faststream.nats import JStream, TestNatsBroker

from contracts import encode
from shared.bus.runtime import ServiceRuntime
from shared.bus.topology import stream_for
from shared.clock import FixedClock
from shared.settings import Settings

NOW = datetime(2026, 5, 1, 21, 0, tzinfo=UTC)
OFFLINE = Settings(nats_url="nats://127.0.0.1:1")  # never connected: the test broker replaces the connection


class Captured:
    def __init__(self) -> None:
        self.messages: dict[str, list[dict[str, Any]]] = {}

    def on(self, subject: str) -> list[dict[str, Any]]:
        return self.messages.setdefault(subject, [])


async def _raw(message: Any, original: Any = None) -> Any:
    return message


def _collector(sink: list[Any]) -> Callable[[Any], Any]:
    async def collect(message: Any) -> None:
        body = message.body
        try:
            sink.append(json.loads(body))
        except ValueError:
            sink.append(body)

    return collect


@asynccontextmanager
async def in_memory(
    build: Callable[..., tuple[ServiceRuntime, Any]], *subjects: str, settings: Settings = OFFLINE
) -> AsyncIterator[tuple[Any, Any, Captured]]:
    """The service built from ``build`` on a test broker, capturing what it publishes to ``subjects``."""
    runtime, service = build(settings, clock=FixedClock(NOW))
    captured = Captured()
    for subject in subjects:
        stream = JStream(stream_for(subject), declare=False)  # results are published through their stream
        runtime.broker.subscriber(subject, stream=stream, decoder=_raw)(_collector(captured.on(subject)))
    async with TestNatsBroker(runtime.broker) as broker:
        yield broker, service, captured


async def send(broker: Any, subject: str, message: object) -> None:
    await broker.publish(encode(message), subject, headers={"Nats-Msg-Id": getattr(message, "message_id", "x")})
