"""A message a handler wants published after it has done its work."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Outgoing"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    subject: str
    message: object
    msg_id: str
    stream: str | None = None
