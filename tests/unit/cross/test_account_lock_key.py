"""The gateway refuses to change an account while a run holds it by reading the coordinator's lock key: both
must name the same key."""

from __future__ import annotations

from contracts import account_lock_key
from services.coordinator.store import lock_key


def test_the_gateway_reads_the_lock_the_coordinator_writes() -> None:
    assert account_lock_key("acct-1") == lock_key("acct-1") == "lock.acct-1"
