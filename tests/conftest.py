"""Fixtures shared by every tier: a real nats-server on a random port with a fresh JetStream store."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from shared.settings import Settings
from shared.testing import NatsServer
from shared.testing.system import InProcessSystem, running_system

# Property tests are reproducible by default (the same examples on every run, so CI cannot flake);
# HYPOTHESIS_PROFILE=explore searches new random examples, many more of them.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", max_examples=1000, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats") as server:
        yield server


@pytest.fixture
def settings(nats_server: NatsServer) -> Settings:
    return Settings(
        nats_url=nats_server.url,
        step_timeout_seconds=20.0,
        retry_backoff_seconds=0.2,
        nak_delay_seconds=0.05,
        max_deliver=3,
        seed_demo=True,
        webhook_url=None,
    )


@pytest.fixture
async def system(settings: Settings) -> AsyncIterator[InProcessSystem]:
    async with running_system(settings) as running:
        yield running
