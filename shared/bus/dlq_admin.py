"""Read and replay the DLQ stream (what ``rebalance dlq`` does, straight over NATS).

Each dead letter is a message of stream ``DLQ`` on ``dlq.v1.<original subject>``, its body the original
message and its headers the reason, the original subject, the deliveries and the service that gave up
(:mod:`shared.bus.dlq`). A dead letter's id is its DLQ stream sequence.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError as JsNotFoundError

from contracts.subjects import DLQ_PREFIX, STREAM_DLQ, stream_of
from shared.bus.dlq import DLQ_DELIVERIES_HEADER, DLQ_REASON_HEADER, DLQ_SERVICE_HEADER, DLQ_SUBJECT_HEADER
from shared.errors import InvalidInputError, NotFoundError

__all__ = ["DeadLetter", "dead_letter_by_id", "dead_letters", "replay_dead_letter"]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    subject: str
    reason: str
    service: str
    deliveries: str
    body: bytes


def _dead_letter(seq: int, subject: str, headers: dict[str, str] | None, body: bytes) -> DeadLetter:
    headers = headers or {}
    original = headers.get(DLQ_SUBJECT_HEADER) or subject.removeprefix(f"{DLQ_PREFIX}.")
    return DeadLetter(
        id=seq,
        subject=original,
        reason=headers.get(DLQ_REASON_HEADER, ""),
        service=headers.get(DLQ_SERVICE_HEADER, ""),
        deliveries=headers.get(DLQ_DELIVERIES_HEADER, ""),
        body=body,
    )


async def dead_letter_by_id(js: JetStreamContext, dead_letter_id: int) -> DeadLetter:
    """The dead letter ``dead_letter_id``; :class:`NotFoundError` when the DLQ has no such message."""
    try:
        raw = await js.get_msg(STREAM_DLQ, seq=dead_letter_id)
    except JsNotFoundError:
        raise NotFoundError(f"no dead letter {dead_letter_id} in stream {STREAM_DLQ}") from None
    return _dead_letter(int(raw.seq or dead_letter_id), raw.subject or "", raw.headers, raw.data or b"")


async def dead_letters(js: JetStreamContext, *, limit: int = 50) -> list[DeadLetter]:
    """The newest ``limit`` dead letters, oldest first."""
    if limit < 1:
        raise InvalidInputError(f"--limit must be at least 1, got {limit}")
    state = (await js.stream_info(STREAM_DLQ)).state
    found: list[DeadLetter] = []
    seq = int(state.last_seq or 0)
    while seq >= int(state.first_seq or 1) and seq > 0 and len(found) < limit:
        with contextlib.suppress(NotFoundError):  # deleted after a replay
            found.append(await dead_letter_by_id(js, seq))
        seq -= 1
    return found[::-1]


async def replay_dead_letter(js: JetStreamContext, dead_letter_id: int, *, keep: bool = False) -> int:
    """Publish dead letter ``dead_letter_id`` again to its original subject (a fresh ``Nats-Msg-Id``, so
    JetStream does not drop it as a duplicate); removes it from the DLQ unless ``keep``. Returns the
    sequence of the re-published message in its stream."""
    letter = await dead_letter_by_id(js, dead_letter_id)
    try:
        stream_of(letter.subject)
    except ValueError:
        raise InvalidInputError(f"dead letter {dead_letter_id}: no stream stores {letter.subject!r}") from None
    ack = await js.publish(
        letter.subject, letter.body, headers={"Nats-Msg-Id": f"dlq-replay:{dead_letter_id}:{letter.subject}"}
    )
    if not keep:
        await js.delete_msg(STREAM_DLQ, dead_letter_id)
    return int(ack.seq)
