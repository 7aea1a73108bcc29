"""Batch runs: one request that rebalances many accounts, each in its own run.

A batch is started by :class:`BatchRequested` (``rebalance.v1.batch``; the gateway publishes it for
``POST /api/rebalance/batch``, anyone may). The coordinator alone writes its state, a
:class:`BatchRecord` in the KV bucket ``batches`` (key ``batch.<batch_id>``), and the batch's accounts
once under ``batch.<batch_id>.accounts`` (:class:`BatchAccounts`). Each account's run id is derived
from the batch id and the account (:func:`batch_run_id`), so a re-sent batch starts no run twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from contracts.envelope import Envelope, Value
from contracts.values import Identifier, RebalanceRequest

__all__ = [
    "BATCH_SOURCE_PREFIX",
    "BatchAccounts",
    "BatchRecord",
    "BatchRequested",
    "BatchRunState",
    "BatchStatus",
    "batch_accounts_key",
    "batch_key",
    "batch_of_source",
    "batch_run_id",
]

BatchStatus = Literal["running", "completed"]
BatchRunState = Literal["p", "r", "w", "c", "f", "x"]
"""One account's run in a batch: ``p`` pending (waiting its turn), ``r`` released (its run is under way),
``w`` waiting at its batch's block orders (planned; not counted in flight), ``c`` completed, ``f`` failed,
``x`` cancelled."""

BATCH_SOURCE_PREFIX: Final = "batch:"
_BATCH_RUN_NAMESPACE: Final = uuid.UUID("a4d3c1b2-7e5f-4c6a-9b8d-1f2e3d4c5b6a")


def batch_key(batch_id: str) -> str:
    return f"batch.{batch_id}"


def batch_accounts_key(batch_id: str) -> str:
    return f"batch.{batch_id}.accounts"


def batch_run_id(batch_id: str, account_id: str) -> str:
    """The run of ``account_id`` in batch ``batch_id``: the same pair always names the same run."""
    return str(uuid.uuid5(_BATCH_RUN_NAMESPACE, f"{batch_id}:{account_id}"))


def batch_of_source(source: str) -> str | None:
    """The batch a run belongs to, from the run's ``source`` (``batch:<batch_id>``); ``None`` for others."""
    return source.removeprefix(BATCH_SOURCE_PREFIX) if source.startswith(BATCH_SOURCE_PREFIX) else None


class BatchRequested(Envelope, frozen=True, kw_only=True, tag="rebalance.batch-requested.v1"):
    """Starts a batch (``rebalance.v1.batch``). ``run_id`` is the batch's id.

    ``request`` holds the options every run of the batch shares; its ``account_id`` is replaced by each
    account of ``account_ids`` (the gateway sets it to the first). ``max_in_flight`` bounds how many of
    the batch's runs are under way at once (0: the deployment's ``BATCH_MAX_IN_FLIGHT``).
    """

    account_ids: list[Identifier]
    request: RebalanceRequest
    max_in_flight: int = 0
    source: str = "bus"


class BatchAccounts(Value, frozen=True, kw_only=True):
    """The batch's accounts in order, written once; a run's state is at the same index of ``states``."""

    batch_id: str
    account_ids: list[str]


class BatchRecord(Value, frozen=True, kw_only=True, rename="camel"):
    """A batch's state: one character per account (see :data:`BatchRunState`), and when it started and ended."""

    batch_id: str
    status: BatchStatus
    request: RebalanceRequest
    states: str
    max_in_flight: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    source: str = "bus"
    release_step: int = 1
    """How many accounts are released together (a chunk's size when the runs travel in chunks): the next
    ones wait until that many can go, or all that are left."""

    @property
    def total(self) -> int:
        return len(self.states)

    def count(self, state: BatchRunState) -> int:
        return self.states.count(state)

    def runs_of(self, accounts: BatchAccounts) -> list[tuple[str, str, str]]:
        """``(account_id, run_id, state)`` of every account, in the batch's order."""
        return [
            (account, batch_run_id(self.batch_id, account), state)
            for account, state in zip(accounts.account_ids, self.states, strict=True)
        ]
