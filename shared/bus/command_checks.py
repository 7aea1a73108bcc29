"""The checks every command passes before its handler sees it, alone or inside a bundle."""

from __future__ import annotations

from typing import TypeVar

from contracts import Command, ContractError, decode, run_id_problem
from contracts.messages import Message
from shared.bus.step_inputs import resolves_to

__all__ = ["checked_command", "decoded_command", "decoded_message"]

C = TypeVar("C", bound=Command)


def decoded_message(body: bytes) -> tuple[Message | None, str]:
    """The message in ``body``, or ``None`` and why it does not decode."""
    try:
        return decode(body), ""
    except ContractError as exc:
        return None, str(exc)
    except Exception as exc:  # whatever a decoder raises, the message is captured, never retried forever
        return None, f"{type(exc).__name__}: {exc}"


def checked_command(message: Message, message_type: type[C]) -> tuple[Command | None, str]:
    """``message`` as a command ``message_type``'s handler can take, or ``None`` and why not (another message
    type, or a run id that cannot name a run). A version-2 command that resolves to ``message_type``
    (:mod:`shared.bus.step_inputs`) is accepted as is."""
    if not isinstance(message, Command) or not (
        isinstance(message, message_type) or resolves_to(type(message), message_type)
    ):
        return None, f"expected {message_type.__name__}, got {type(message).__name__}"
    problem = run_id_problem(message.run_id)
    if problem is not None:
        return None, problem
    return message, ""


def decoded_command(body: bytes, message_type: type[C]) -> tuple[Command | None, str]:
    """The command in ``body``, or ``None`` and why it cannot be handled (it does not decode, it is
    another message type, or its run id cannot name a run)."""
    message, problem = decoded_message(body)
    if message is None:
        return None, problem
    return checked_command(message, message_type)
