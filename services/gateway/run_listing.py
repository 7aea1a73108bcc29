"""Listing runs: filter, newest-first order and cursor paging over run records (pure).

The cursor is opaque to clients: the URL-safe base64 of the last row's ``(createdAt, runId)``. A page
holds the runs strictly after it in the order ``createdAt`` descending, then ``runId`` descending, so
runs created while a client pages never repeat or shift a later page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import RunRecord, to_builtins

__all__ = ["RunFilter", "decode_cursor", "encode_cursor", "page_of_runs", "run_summary"]


@dataclass(frozen=True, slots=True)
class RunFilter:
    account_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    """Runs created at or after this instant (UTC)."""


def encode_cursor(record: RunRecord) -> str:
    raw = json.dumps([record.created_at.isoformat(), record.run_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """``(createdAt, runId)`` of a cursor; ``ValueError`` naming it when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, run_id = json.loads(raw)
        return datetime.fromisoformat(created), str(run_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValueError(f"cursor: {cursor!r} is not a cursor this API returned") from exc


def _key(record: RunRecord) -> tuple[datetime, str]:
    return record.created_at, record.run_id


def page_of_runs(
    records: Iterable[RunRecord], where: RunFilter, *, limit: int, cursor: str | None = None
) -> tuple[list[RunRecord], str | None]:
    """The page of runs matching ``where``, newest first, after ``cursor``; and the next page's cursor
    (``None`` on the last page)."""
    after = decode_cursor(cursor) if cursor else None
    matching = [
        r
        for r in records
        if (where.account_id is None or r.request.account_id == where.account_id)
        and (where.status is None or r.status == where.status)
        and (where.since is None or r.created_at >= where.since)
        and (after is None or _key(r) < after)
    ]
    matching.sort(key=_key, reverse=True)
    page = matching[:limit]
    more = len(matching) > limit
    return page, (encode_cursor(page[-1]) if more and page else None)


def run_summary(record: RunRecord) -> dict[str, Any]:
    """One row of the listing (camelCase)."""
    body = to_builtins(record)
    report = record.report
    return {
        "runId": record.run_id,
        "accountId": record.request.account_id,
        "status": record.status,
        "currentStep": record.current_step,
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
        "asOf": body["asOf"],
        "dryRun": record.request.dry_run,
        "mode": record.request.mode,
        "source": record.source,
        "decision": record.decision,
        "trades": len(report.actions) if report is not None else None,
        "error": record.error,
    }
