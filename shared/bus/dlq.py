"""Capture a poisoned message in the DLQ stream with the reason, then terminate it."""

from __future__ import annotations

from typing import Any

from contracts.subjects import STREAM_DLQ, dlq_subject
from shared.log import get_logger

__all__ = ["DLQ_DELIVERIES_HEADER", "DLQ_REASON_HEADER", "DLQ_SERVICE_HEADER", "DLQ_SUBJECT_HEADER", "dead_letter"]

DLQ_REASON_HEADER = "Rebalancer-Dlq-Reason"
DLQ_SUBJECT_HEADER = "Rebalancer-Original-Subject"
DLQ_DELIVERIES_HEADER = "Rebalancer-Deliveries"
DLQ_SERVICE_HEADER = "Rebalancer-Service"

log = get_logger("shared.bus.dlq")


async def dead_letter(broker: Any, *, subject: str, body: bytes, reason: str, deliveries: int, service: str) -> None:
    """Publish ``body`` to ``dlq.v1.<subject>`` with why it failed (and log it); awaits the stream's ack."""
    reason = reason[:2000].replace("\n", " ")
    log.error("message to DLQ", subject=subject, reason=reason, deliveries=deliveries, dlq_service=service)
    headers = {
        DLQ_REASON_HEADER: reason,
        DLQ_SUBJECT_HEADER: subject,
        DLQ_DELIVERIES_HEADER: str(deliveries),
        DLQ_SERVICE_HEADER: service,
    }
    await broker.publish(body, dlq_subject(subject), headers=headers, stream=STREAM_DLQ)
