"""Listing runs: filters, newest first, and cursor pages that neither repeat nor skip a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import RebalanceRequest, RunRecord, StepRecord
from services.gateway.run_listing import RunFilter, decode_cursor, page_of_runs, run_summary

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _run(n: int, account: str = "demo", status: str = "completed", seconds: int | None = None) -> RunRecord:
    at = T0 + timedelta(seconds=n if seconds is None else seconds)
    return RunRecord(
        run_id=f"run-{n:03d}",
        status=status,  # type: ignore[arg-type]
        request=RebalanceRequest(account_id=account),
        created_at=at,
        updated_at=at,
        steps=[StepRecord(name="load-portfolio")],
    )


def test_filters_and_newest_first() -> None:
    runs = [_run(1), _run(2, "ira"), _run(3, status="failed"), _run(4)]
    page, cursor = page_of_runs(runs, RunFilter(account_id="demo"), limit=10)
    assert [r.run_id for r in page] == ["run-004", "run-003", "run-001"] and cursor is None
    page, _ = page_of_runs(runs, RunFilter(status="failed"), limit=10)
    assert [r.run_id for r in page] == ["run-003"]
    page, _ = page_of_runs(runs, RunFilter(since=T0 + timedelta(seconds=2)), limit=10)
    assert [r.run_id for r in page] == ["run-004", "run-003", "run-002"]


@given(
    st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=40),
    st.integers(min_value=1, max_value=7),
)
def test_pages_cover_every_run_once_in_order(seconds: list[int], limit: int) -> None:
    runs = [_run(n, seconds=s) for n, s in enumerate(seconds)]  # many share a creation instant
    seen: list[RunRecord] = []
    cursor = None
    while True:
        page, cursor = page_of_runs(runs, RunFilter(), limit=limit, cursor=cursor)
        assert len(page) <= limit
        seen.extend(page)
        if cursor is None:
            break
    assert [r.run_id for r in seen] == [
        r.run_id for r in sorted(runs, key=lambda r: (r.created_at, r.run_id), reverse=True)
    ]


def test_a_foreign_cursor_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="cursor: 'nonsense!' is not a cursor"):
        decode_cursor("nonsense!")


def test_summary_is_camel_case() -> None:
    row = run_summary(_run(7))
    assert row["runId"] == "run-007" and row["accountId"] == "demo" and row["createdAt"].startswith("2026-05-01T")
    assert row["trades"] is None
