"""A real run mails its HTML report to a local SMTP server started by the test."""

from __future__ import annotations

import pytest

from shared.settings import Settings
from shared.testing.smtp_server import smtp_sink
from shared.testing.system import running_system

pytestmark = pytest.mark.integration


async def test_completed_run_is_mailed_with_its_report(settings: Settings) -> None:
    with smtp_sink() as sink:
        mailing = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_to": "pm@firm.test, ops@firm.test"}
        )
        async with running_system(mailing) as system:
            run_id = await system.request_run("demo", dry_run=True)
            record = await system.wait_for_run(run_id)
    assert record.status == "completed"
    assert "email" in record.notifications
    assert sink.envelopes == [("rebalancer@localhost", ["pm@firm.test", "ops@firm.test"])]
    mail = sink.messages[0]
    assert run_id in mail["Subject"]
    html = sink.part(0, "text/html")
    assert record.report is not None
    assert html.count("<tr class='trade'>") == len(record.report.actions)
    assert f"run {run_id}" in html
