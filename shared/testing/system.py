"""Run every service in one event loop against a real nats-server (integration tests, benchmarks).

Each service keeps its own broker connection, exactly as in its own process; only the process
boundary is missing. ``tests/e2e`` starts them as separate processes instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import nats
from nats.aio.client import Client

from contracts import (
    RebalanceRequest,
    RebalanceRequested,
    RunRecord,
    decode_as,
    encode,
    run_key,
    step_key,
    subjects,
)
from shared.bus import kv as kvops
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock, SystemClock
from shared.settings import Settings

__all__ = ["SERVICE_NAMES", "InProcessSystem", "running_system"]

T = TypeVar("T")

SERVICE_NAMES = (
    "portfolio",
    "market_data",
    "analysis",
    "tax",
    "rebalancing",
    "execution",
    "notifications",
    "coordinator",
)


def build_service(name: str, settings: Settings, clock: Clock | None = None) -> ServiceRuntime:
    """The runtime of service ``name`` with its handlers registered (imports the service lazily)."""
    import importlib

    module = importlib.import_module(f"services.{name}.main")
    runtime, _ = module.build(settings.model_copy(update={"service_name": name}), clock=clock)
    return runtime


class InProcessSystem:
    def __init__(self, settings: Settings, clock: Clock | None = None, services: tuple[str, ...] = SERVICE_NAMES):
        self.settings = settings
        self.clock = clock or SystemClock()
        self.names = services
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.nc: Client | None = None

    async def start(self) -> None:
        self.nc = await nats.connect(self.settings.nats_servers, max_reconnect_attempts=-1)
        for name in self.names:
            await self.start_service(name)

    async def start_service(self, name: str) -> ServiceRuntime:
        runtime = build_service(name, self.settings, self.clock)
        await runtime.start()
        self.runtimes[name] = runtime
        return runtime

    async def stop_service(self, name: str) -> None:
        runtime = self.runtimes.pop(name)
        await runtime.stop()

    async def stop(self) -> None:
        for name in list(self.runtimes)[::-1]:
            with contextlib.suppress(Exception):
                await self.stop_service(name)
        if self.nc is not None:
            await self.nc.close()

    @property
    def client(self) -> Client:
        assert self.nc is not None
        return self.nc

    async def request_run(self, account_id: str = "demo", *, run_id: str | None = None, **options: Any) -> str:
        """Publish ``rebalance.v1.requested`` as any client may; returns the run id."""
        run_id = run_id or str(uuid.uuid4())
        message = RebalanceRequested(
            run_id=run_id,
            message_id=run_id,
            occurred_at=self.clock.now(),
            request=RebalanceRequest(account_id=account_id, **options),
        )
        await self.client.jetstream().publish(
            subjects.REBALANCE_REQUESTED, encode(message), headers={"Nats-Msg-Id": run_id}
        )
        return run_id

    async def run_record(self, run_id: str) -> RunRecord | None:
        bucket = await self.client.jetstream().key_value(subjects.KV_RUNS)
        record, _ = await kvops.read(bucket, run_key(run_id), RunRecord)
        return record

    async def step_output(self, run_id: str, step: str, type_: type[T]) -> T:
        """A step's stored output (KV ``steps``; a finished run keeps them only with ``keep_step_outputs``)."""
        bucket = await self.client.jetstream().key_value(subjects.KV_STEPS)
        entry = await bucket.get(step_key(run_id, step))
        assert entry.value is not None, (run_id, step)
        return decode_as(entry.value, type_)

    async def wait_for_run(self, run_id: str, timeout: float = 60.0, *, notified: bool = True) -> RunRecord:
        """Wait, on KV watch events (no polling sleeps), until the run is finished."""
        bucket = await self.client.jetstream().key_value(subjects.KV_RUNS)
        watcher = await bucket.watch(run_key(run_id))
        try:
            async with asyncio.timeout(timeout):
                async for entry in watcher:
                    if entry is None or entry.value is None:
                        continue
                    record = decode_as(entry.value, RunRecord)
                    done = record.status in ("completed", "failed", "cancelled")
                    waiting = record.step("send-notifications").status in ("running", "retrying", "pending")
                    if done and (not notified or not waiting or record.status == "cancelled"):
                        return record
        finally:
            await watcher.stop()
        raise TimeoutError(run_id)


@contextlib.asynccontextmanager
async def running_system(settings: Settings, **kwargs: Any) -> AsyncIterator[InProcessSystem]:
    system = InProcessSystem(settings, **kwargs)
    try:
        await system.start()
        yield system
    finally:
        await system.stop()
