"""Bundles: many runs' commands of one step in one message, and their results in one message.

A batch's dry runs travel through the saga in *chunks* of accounts (``BATCH_CHUNK_SIZE``): the coordinator
keeps each chunk's runs in one record (:class:`ChunkRecord`, KV ``runs`` key ``chunk.<chunk_id>``) and
sends each step to the service that owns it as one :class:`CommandBundle` on the step's usual command
subject. Each entry of ``commands`` is the encoded command that step would carry alone (the same type, the
same message id), so the service handles it with the same code. The service answers with one
:class:`ResultBundle` on ``<svc>.v1.evt.step-results`` (:func:`contracts.subjects.step_results`), holding
each command's result event or :class:`~contracts.messages.StepFailed`: a run that fails, fails alone.

Trust comes from the subject, as for single results: the coordinator accepts an entry only if the step
belongs to the service whose subject carried the bundle, and only for a run of that chunk awaiting that
step and attempt. Every run keeps its own id, record (``runs`` key ``<run_id>``, written when the run
starts and when it ends) and report.

A step's inputs are referenced, never copied: ``inputs`` names, for each earlier step, the keys of KV
``steps`` where the coordinator stored that step's result bundles (one, or more after retries); the service
reads them once per bundle and finds each run's output there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from contracts.envelope import Envelope, Value
from contracts.runs import RunRecord

__all__ = [
    "CHUNK_PREFIX",
    "ChunkRecord",
    "CommandBundle",
    "ResultBundle",
    "chunk_key",
]

CHUNK_PREFIX: Final = "chunk."


def chunk_key(chunk_id: str) -> str:
    """The chunk's record in KV ``runs``."""
    return f"{CHUNK_PREFIX}{chunk_id}"


class CommandBundle(Envelope, frozen=True, kw_only=True, tag="step.command-bundle.v1"):
    """One step's commands for many runs of a chunk. ``run_id`` is the chunk's id."""

    step: str
    commands: list[msgspec.Raw]
    """Each the encoding of one run's command of ``step`` (as it would travel alone)."""
    inputs: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Earlier step -> the KV ``steps`` keys of its stored :class:`ResultBundle`\\ s."""


class ResultBundle(Envelope, frozen=True, kw_only=True, tag="step.result-bundle.v1"):
    """The answers to a :class:`CommandBundle`: each a step result event or a ``StepFailed``."""

    step: str
    service: str
    results: list[msgspec.Raw]


class ChunkRecord(Value, frozen=True, kw_only=True, rename="camel"):
    """The state of a chunk's runs (KV ``runs``, ``chunk.<chunk_id>``), written with compare-and-set.

    ``runs`` are ordinary run records (each run's saga is the single run's, step for step). ``outputs``
    maps each step to the ``steps`` keys of its accepted result bundles."""

    chunk_id: str
    batch_id: str
    runs: list[RunRecord]
    created_at: datetime
    updated_at: datetime
    outputs: dict[str, list[str]] = msgspec.field(default_factory=dict)
