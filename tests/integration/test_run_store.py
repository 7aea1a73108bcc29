"""The coordinator's run store writes on the revision it last wrote (no read first), and stays right when
another coordinator wrote since: a stale write is refused and re-applied, a "nothing to do" seen on a
stale state is checked on a fresh read."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import nats
import pytest

from contracts import RebalanceRequest, RebalanceRequested, RunRecord, subjects
from services.coordinator.domain import start_run
from services.coordinator.store import RunStore
from shared.bus.provisioning import provision
from shared.settings import Settings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)


def _record() -> RunRecord:
    request = RebalanceRequest(account_id="demo", dry_run=True)
    return start_run(RebalanceRequested(run_id="r1", message_id="r1", occurred_at=NOW, request=request), NOW)


def _decide(text: str):  # type: ignore[no-untyped-def]
    return lambda r: msgspec.structs.replace(r, decision=text)


async def test_a_stale_known_revision_is_read_again_and_nothing_is_lost(settings: Settings) -> None:
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    await provision(js, settings)
    bucket = await js.key_value(subjects.KV_RUNS)
    first, second = RunStore(bucket), RunStore(bucket)  # two coordinators
    assert await first.create(_record())
    # The common case: the first coordinator writes on the revision it knows, without reading.
    _, after = await first.transition("r1", _decide("a"))
    assert after is not None and first.reads == 0
    # Another coordinator writes meanwhile: the first one's write on its old revision is refused, the run
    # read again and the change applied on top.
    await second.transition("r1", _decide("b"))
    before, after = await first.transition("r1", lambda r: msgspec.structs.replace(r, decision=r.decision + "+c"))
    assert before is not None and before.decision == "b" and after is not None and after.decision == "b+c"
    assert first.reads == 1
    # A change that does nothing on the state the first one knows is checked on a fresh read.
    await second.transition("r1", _decide("ready"))
    only_when_ready = lambda r: msgspec.structs.replace(r, decision="done") if r.decision == "ready" else None  # noqa: E731
    _, after = await first.transition("r1", only_when_ready)
    assert after is not None and after.decision == "done"
    assert (await second.get("r1")).decision == "done"  # type: ignore[union-attr]
    await nc.close()
