"""The envelope every bus message carries.

Schema evolution rules (enforced by the golden tests in ``tests/contract``):

* Every message is a frozen, keyword-only msgspec struct tagged with its schema, e.g.
  ``"schema": "portfolio.loaded.v1"``: the name and the major version in one field.
* An additive change (a new field) keeps the version and must have a default. Decoders ignore
  fields they do not know, so old consumers keep working.
* Any other change (a removed or renamed field, a changed type or meaning) is a new major version,
  a new struct tagged ``...v2`` published alongside the old one while consumers move.
* Money and share quantities are ``Decimal`` and cross the wire as decimal strings; dates are ISO
  dates; instants are UTC ISO-8601.
"""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def run_id_problem(run_id: str) -> str | None:
    """Why ``run_id`` cannot name a run (it becomes a KV key and a subject token), or ``None``."""
    if _RUN_ID.fullmatch(run_id):
        return None
    shown = run_id if len(run_id) <= 40 else f"{run_id[:40]}... ({len(run_id)} characters)"
    return f"run_id {shown!r}: use 1 to 128 letters, digits, '-' or '_'"


__all__ = ["Command", "Envelope", "Event", "Value", "run_id_problem"]


class Value(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Base of value objects carried inside messages."""


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="schema"):
    """Fields common to every message.

    ``message_id`` is deterministic where the message is produced by a step (``<run_id>:<step>:<attempt>``
    plus a suffix), so a re-published message is de-duplicated by JetStream (``Nats-Msg-Id``).
    """

    run_id: str
    message_id: str
    occurred_at: datetime


class Command(Envelope, frozen=True, kw_only=True):
    """A request to a service to do one step of a run."""

    step: str
    attempt: int = 1


class Event(Envelope, frozen=True, kw_only=True):
    """A fact a service reports; a step's result carries the step and attempt it answers."""

    step: str = ""
    attempt: int = 1
