"""Capture a poisoned message in the DLQ stream with the reason, then terminate it."""

from __future__ import annotations

from typing import Any

from contracts.subjects import STREAM_DLQ, dlq_subject

__all__ = ["DLQ_REASON_HEADER", "dead_letter"]

DLQ_REASON_HEADER = "Rebalancer-Dlq-Reason"


async def dead_letter(broker: Any, *, subject: str, body: bytes, reason: str, deliveries: int, service: str) -> None:
    """Publish ``body`` to ``dlq.v1.<subject>`` with why it failed; awaits the stream's ack."""
    headers = {
        DLQ_REASON_HEADER: reason[:2000].replace("\n", " "),
        "Rebalancer-Original-Subject": subject,
        "Rebalancer-Deliveries": str(deliveries),
        "Rebalancer-Service": service,
    }
    await broker.publish(body, dlq_subject(subject), headers=headers, stream=STREAM_DLQ)
