"""The error hierarchy's retryability, and the injectable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.clock import FixedClock, SystemClock, utc
from shared.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    RebalancerError,
    TransientError,
    is_retryable,
)


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (InvalidInputError("bad"), False),
        (NotFoundError("no account"), False),
        (DomainError("oversell"), False),
        (RebalancerError("base"), False),
        (TransientError("timeout"), True),
        (ConflictError("cas lost"), True),
        (ValueError("bug"), False),
        (TypeError("bug"), False),
        (KeyError("bug"), False),
        (ZeroDivisionError("bug"), False),
        (ConnectionError("lost"), True),
        (TimeoutError("slow"), True),
        (RuntimeError("unexpected"), True),
    ],
)
def test_is_retryable(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


def test_hierarchy_and_message() -> None:
    assert issubclass(NotFoundError, InvalidInputError)
    assert issubclass(ConflictError, TransientError)
    err = DomainError("selling more than held")
    assert err.message == str(err) == "selling more than held"


def test_fixed_clock() -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 30))  # naive: taken as UTC
    assert clock.now() == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.now() == clock.now()
    clock.advance(timedelta(minutes=90))
    assert clock.now() == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    clock.set(datetime(2026, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)


def test_utc_and_system_clock() -> None:
    assert utc(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5)))) == datetime(2026, 1, 1, 5, tzinfo=UTC)
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_every_published_subject_has_a_stream() -> None:
    from contracts import subjects
    from shared.bus.topology import stream_for

    assert stream_for(subjects.PORTFOLIO_LOAD) == subjects.STREAM_CMD
    assert stream_for(subjects.step_failed("tax")) == subjects.STREAM_EVT
    assert stream_for(subjects.REBALANCE_REQUESTED) == subjects.STREAM_EVT
    assert stream_for(subjects.timer_schedule("r", "tax-context")) == subjects.STREAM_TIMERS
    assert stream_for(subjects.dlq_subject(subjects.PORTFOLIO_LOAD)) == subjects.STREAM_DLQ
    for subject in (*subjects.COMMAND_SUBJECTS, *subjects.EVENT_SUBJECTS, *subjects.PUBLIC_SUBJECTS):
        stream_for(subject)
    import pytest

    with pytest.raises(ValueError, match="no stream"):
        stream_for("portfolio.v1.query.status")
