"""Run reports by email: the mail carries the HTML report and the blotter; a local SMTP server receives
it; an unreachable server is an error in the result, never an exception."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from contracts import Notify
from services.notifications.email import report_email, send_report_email
from shared.settings import Settings
from shared.testing.smtp_server import smtp_sink
from tests.unit.reports.sample import sample_report

AT = datetime(2026, 5, 1, 21, 0, tzinfo=UTC)


def _notify(with_report: bool = True) -> Notify:
    return Notify(
        run_id="run-42",
        message_id="run-42:send-notifications:1",
        occurred_at=AT,
        step="send-notifications",
        account_id="demo",
        status="completed" if with_report else "failed",
        message="Portfolio rebalancing completed for account demo.",
        report=sample_report() if with_report else None,
    )


def test_mail_has_text_html_report_and_blotter() -> None:
    mail = report_email(_notify(), sender="desk@firm.test", recipients=["a@firm.test", "b@firm.test"])
    assert mail["Subject"] == "Rebalancing completed: account demo (run run-42)"
    assert mail["To"] == "a@firm.test, b@firm.test"
    html = mail.get_body(("html",))
    assert html is not None and "allocation-chart" in html.get_content()
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["trades-run-42.csv"]
    assert attachments[0].get_content().startswith("account,symbol,side,shares")


def test_failed_run_mail_is_text_only() -> None:
    mail = report_email(_notify(with_report=False), sender="desk@firm.test", recipients=["a@firm.test"])
    assert not mail.is_multipart()
    assert "completed for account demo" in mail.get_content()


async def test_local_smtp_server_receives_the_report() -> None:
    with smtp_sink() as sink:
        settings = Settings(
            smtp_host="127.0.0.1", smtp_port=sink.port, smtp_from="desk@firm.test", smtp_to="pm@firm.test"
        )
        assert await send_report_email(settings, _notify()) is None
        assert sink.envelopes == [("desk@firm.test", ["pm@firm.test"])]
        received = sink.messages[0]
        parts = {part.get_content_type() for part in received.walk()}
        assert {"text/plain", "text/html", "text/csv"} <= parts
        assert "drift-chart" in sink.part(0, "text/html")


async def test_unreachable_server_is_reported_not_raised() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_to="pm@firm.test", smtp_timeout_seconds=2)
        failure = await send_report_email(settings, _notify())
    assert failure is not None and failure.startswith(f"email 127.0.0.1:{port}:")
