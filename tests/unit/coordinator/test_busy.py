"""A trading run refused because another unfinished run trades the same account."""

from __future__ import annotations

from contracts import subjects
from services.coordinator.domain import RetryPolicy, effects, refuse_busy, start_run
from tests.unit.coordinator.helpers import NOW, requested, statuses


def test_a_refused_run_fails_before_it_starts_and_says_which_run_holds_the_account() -> None:
    record = refuse_busy(start_run(requested(), NOW), "other-run", NOW)
    assert record.status == "failed" and record.failed_step == "load-portfolio"
    assert "run other-run is trading it" in (record.error or "")
    assert statuses(record)["execute-trades"] == "skipped"
    assert statuses(record)["send-notifications"] == "running"
    out = effects(None, record, NOW, RetryPolicy())
    subjects_sent = [m.subject for m in out.messages]
    assert subjects.RUN_FAILED in subjects_sent and subjects.NOTIFICATIONS_NOTIFY in subjects_sent
    assert subjects.PORTFOLIO_LOAD not in subjects_sent  # nothing of the run is done
