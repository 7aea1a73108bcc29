"""The webhook body: event name, ids, status, message and the report as JSON builtins."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from contracts import Notify, encode
from services.notifications.domain import webhook_payload
from tests.contract.examples import REPORT

AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def _notify(status: str, with_report: bool) -> Notify:
    return Notify(
        run_id="r1",
        message_id="r1:send-notifications:1",
        occurred_at=AT,
        step="send-notifications",
        account_id="demo",
        status=status,  # type: ignore[arg-type]
        message="Portfolio rebalancing completed for account demo.",
        report=REPORT if with_report else None,
    )


def test_completed_payload_shape() -> None:
    payload = webhook_payload(_notify("completed", True))
    assert set(payload) == {"event", "runId", "accountId", "status", "message", "report"}
    assert payload["event"] == "portfolio.rebalance.completed"
    assert (payload["runId"], payload["accountId"], payload["status"]) == ("r1", "demo", "completed")
    assert payload["message"] == "Portfolio rebalancing completed for account demo."
    report = payload["report"]
    assert report == json.loads(encode(REPORT))  # camelCase keys, decimal strings, ISO instants
    assert report["portfolioValue"] == "64321.09"
    assert report["timestamp"] == "2026-01-05T14:30:00Z"
    assert report["execution"]["trades"][0]["executionPrice"] == "334.5265"


def test_failed_payload_has_no_report_and_is_json() -> None:
    payload = webhook_payload(_notify("failed", False))
    assert payload["event"] == "portfolio.rebalance.failed"
    assert payload["status"] == "failed"
    assert payload["report"] is None
    assert json.loads(json.dumps(payload)) == payload
