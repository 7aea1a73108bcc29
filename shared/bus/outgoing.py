"""A message a handler wants published after it has done its work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import Command

__all__ = ["Outgoing", "result_envelope", "result_message_id"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    subject: str
    message: object
    msg_id: str


def result_message_id(command: Command) -> str:
    """The ``message_id`` of ``command``'s step result: ``<run_id>:<step>:<attempt>:result``."""
    return f"{command.run_id}:{command.step}:{command.attempt}:result"


def result_envelope(command: Command, now: datetime) -> dict[str, Any]:
    """The envelope of a step's result: the command's run, step and attempt, and a deterministic
    ``message_id`` (``<run_id>:<step>:<attempt>:result``) so a re-published result is de-duplicated."""
    return {
        "run_id": command.run_id,
        "message_id": result_message_id(command),
        "occurred_at": now,
        "step": command.step,
        "attempt": command.attempt,
    }
