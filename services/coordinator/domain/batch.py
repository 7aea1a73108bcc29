"""A batch's pacing, as pure functions of its state (:class:`contracts.BatchRecord`).

A batch keeps at most ``max_in_flight`` of its runs under way: it releases the first ``max_in_flight``
accounts when it starts, and one more each time one of its runs finishes, so an account waiting its turn
is never a step waiting on a deadline. Each account's state is one character of ``states`` (``p``
pending, ``r`` released, ``w`` waiting at the block, ``c`` completed, ``f`` failed, ``x`` cancelled); a
finished account never changes again, which makes every function here idempotent.

Block orders: a live run of a batch that reaches ``execute-trades`` has planned its trades and waits
for the batch's block orders (``w``): it no longer counts in flight, so the next account is released
(planning stays paced; waiting costs nothing). Once no account is pending or planning (:func:`block_size`
> 0), every waiting run trades in one block per symbol and side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from contracts import BatchRecord, BatchRequested, RunStatus

__all__ = [
    "FINISHED_STATES",
    "block_size",
    "finish_run",
    "finish_runs",
    "new_batch",
    "park_run",
    "released_between",
    "unique_accounts",
]

FINISHED_STATES: Final = "cfx"
_STATE_OF_RUN: Final[dict[str, str]] = {"completed": "c", "failed": "f", "cancelled": "x"}


def unique_accounts(account_ids: list[str]) -> list[str]:
    """The accounts in the order given, each once."""
    return list(dict.fromkeys(account_ids))


def new_batch(
    request: BatchRequested, now: datetime, *, default_max_in_flight: int, release_step: int = 1
) -> BatchRecord:
    """A new batch of ``request``'s accounts (each once) with its first runs released; ``release_step``:
    accounts are released that many at a time (a chunk), at most ``max_in_flight``."""
    if default_max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {default_max_in_flight}")
    accounts = unique_accounts(request.account_ids)
    window = request.max_in_flight if request.max_in_flight > 0 else default_max_in_flight
    record = BatchRecord(
        batch_id=request.run_id,
        status="running",
        request=request.request,
        states="p" * len(accounts),
        max_in_flight=window,
        created_at=now,
        updated_at=now,
        source=request.source,
        release_step=max(1, min(release_step, window)),
    )
    return _release(record, now)


def finish_run(record: BatchRecord, index: int, status: RunStatus, now: datetime) -> BatchRecord | None:
    """Record that the run at ``index`` ended with ``status`` and release the next accounts waiting;
    ``None`` when nothing changes (the run is not finished, or its end is already recorded)."""
    state = _STATE_OF_RUN.get(status)
    if state is None or not 0 <= index < record.total or record.states[index] in FINISHED_STATES:
        return None
    states = record.states[:index] + state + record.states[index + 1 :]
    return _release(msgspec.structs.replace(record, states=states, updated_at=now), now)


def finish_runs(record: BatchRecord, ended: list[tuple[int, RunStatus]], now: datetime) -> BatchRecord | None:
    """:func:`finish_run` for many runs at once (a chunk's); ``None`` when nothing changes."""
    changed: BatchRecord | None = None
    for index, status in ended:
        after = finish_run(changed or record, index, status, now)
        changed = after or changed
    return changed


def park_run(record: BatchRecord, index: int, now: datetime) -> BatchRecord | None:
    """The run at ``index`` planned its trades and waits for the block (``r`` → ``w``); the next accounts
    are released. ``None`` when nothing changes (not under way, or already waiting or finished)."""
    if not 0 <= index < record.total or record.states[index] != "r":
        return None
    states = record.states[:index] + "w" + record.states[index + 1 :]
    return _release(msgspec.structs.replace(record, states=states, updated_at=now), now)


def block_size(record: BatchRecord) -> int:
    """How many runs trade in the batch's block: the waiting ones, once no account is pending or planning
    (0 before)."""
    if "p" in record.states or "r" in record.states:
        return 0
    return record.states.count("w")


def released_between(before: BatchRecord | None, after: BatchRecord) -> list[int]:
    """The indices ``after`` released that ``before`` had not (all released ones for a new batch)."""
    return [i for i, state in enumerate(after.states) if state == "r" and (before is None or before.states[i] == "p")]


def _release(record: BatchRecord, now: datetime) -> BatchRecord:
    """Release waiting accounts, in order, until ``max_in_flight`` runs are under way; a batch with
    nothing left waiting or under way is completed."""
    states = list(record.states)
    free = record.max_in_flight - states.count("r")
    if free < min(record.release_step, record.states.count("p")):
        free = 0  # wait until a whole step of accounts can go
    index = record.states.find("p")
    while free > 0 and index != -1:
        states[index] = "r"
        free -= 1
        index = record.states.find("p", index + 1)
    joined = "".join(states)
    done = "p" not in joined and "r" not in joined and "w" not in joined
    return msgspec.structs.replace(
        record,
        states=joined,
        status="completed" if done else "running",
        finished_at=(record.finished_at or now) if done else None,
        updated_at=now,
    )
