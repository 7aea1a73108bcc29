"""A step's result counts only from its owner's subject, for the step its type answers."""

from __future__ import annotations

import msgspec

from contracts import StepFailed, run_id_problem
from services.coordinator.domain.trust import RESULT_OF, result_problem
from tests.unit.coordinator.helpers import NOW, drive, result

OWNER_SUBJECT = {  # written out, not derived from the code under test
    "load-portfolio": "portfolio.v1.evt.loaded",
    "fetch-market-data": "market_data.v1.evt.fetched",
    "analyze-market-conditions": "analysis.v1.evt.analyzed",
    "tax-context": "tax.v1.evt.context-built",
    "calculate-rebalancing": "rebalancing.v1.evt.planned",
    "tax-optimization": "tax.v1.evt.plan-reviewed",
    "execute-trades": "execution.v1.evt.executed",
    "update-portfolio": "portfolio.v1.evt.fills-applied",
    "send-notifications": "notifications.v1.evt.notified",
}


def test_every_step_result_is_accepted_only_on_its_owners_subject() -> None:
    assert {step for step, _ in RESULT_OF.values()} == set(OWNER_SUBJECT)
    record = drive()[-1]
    for step, subject in OWNER_SUBJECT.items():
        event = result(record, step)
        assert result_problem(subject, event) is None, step
        for other in set(OWNER_SUBJECT.values()) - {subject}:
            assert result_problem(other, event) is not None, (step, other)


def test_a_result_claiming_another_step_is_refused() -> None:
    event = result(drive()[-1], "execute-trades")
    lying = msgspec.structs.replace(event, step="update-portfolio")
    assert result_problem("execution.v1.evt.executed", lying) == (
        "TradesExecuted answers execute-trades, not 'update-portfolio'"
    )


def test_a_failure_counts_only_from_the_owner_of_the_step() -> None:
    failed = StepFailed(run_id="r", message_id="m", occurred_at=NOW, step="execute-trades", service="execution",
                        error="x", retryable=True)  # fmt: skip
    assert result_problem("execution.v1.evt.step-failed", failed) is None
    assert result_problem("tax.v1.evt.step-failed", failed) is not None
    unknown = StepFailed(run_id="r", message_id="m", occurred_at=NOW, step="nope", service="tax", error="x",
                         retryable=True)  # fmt: skip
    assert result_problem("tax.v1.evt.step-failed", unknown) == "step-failed for 'nope', which no service does"


def test_run_ids_that_cannot_name_a_run() -> None:
    assert run_id_problem("f7c4a08a-2026-4044-90e4-faa67eb81369") is None
    for bad in ("", "a.b", "a*b", "a>b", "a b", "x" * 129):
        assert run_id_problem(bad) is not None, bad
    assert "(5000 characters)" in (run_id_problem("x" * 5000) or "")
