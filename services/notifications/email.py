"""Run reports by email over SMTP: the HTML report as the body, the trade blotter attached.

Sent when ``SMTP_HOST`` and ``SMTP_TO`` are set. A failure to send is reported (in the ``notified``
event's errors); it never fails the run.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from contracts import Notify
from shared.reports import blotter_csv, render_report_html
from shared.settings import Settings

__all__ = ["recipients_of", "report_email", "send_report_email"]


def recipients_of(settings: Settings) -> list[str]:
    return [address.strip() for address in settings.smtp_to.split(",") if address.strip()]


def report_email(command: Notify, *, sender: str, recipients: list[str]) -> EmailMessage:
    """The mail of one run: a plain-text part (the message), the HTML report as the alternative, and the
    blotter as ``trades-<run>.csv`` (pure)."""
    mail = EmailMessage()
    mail["Subject"] = f"Rebalancing {command.status}: account {command.account_id} (run {command.run_id})"
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Message-ID"] = f"<{command.message_id.replace(':', '.')}@rebalancer>"
    text = [command.message]
    if command.report is not None:
        text.append(f"Portfolio value ${command.report.portfolio_value:,.2f}; {len(command.report.actions)} trades.")
    mail.set_content("\n".join(text) + "\n")
    if command.report is not None:
        mail.add_alternative(render_report_html(command.report), subtype="html")
        mail.add_attachment(
            blotter_csv(command.report).encode("utf-8"),
            maintype="text",
            subtype="csv",
            filename=f"trades-{command.run_id}.csv",
        )
    return mail


async def send_report_email(settings: Settings, command: Notify) -> str | None:
    """Send the run's mail; ``None`` when sent, else what went wrong."""
    recipients = recipients_of(settings)
    mail = report_email(command, sender=settings.smtp_from, recipients=recipients)
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return f"email {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {exc}"
    return None
