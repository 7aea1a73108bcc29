"""Send a run's notification: always a log line; an HTTP webhook and an email when configured.

A failed webhook or email is reported in the ``notified`` event; it never fails the run.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from contracts import Notified, Notify, subjects
from services.notifications.domain import webhook_payload
from services.notifications.email import recipients_of, send_report_email
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.log import get_logger

__all__ = ["NotificationService"]

log = get_logger("notifications")


class NotificationService:
    def __init__(self, runtime: ServiceRuntime, *, client: httpx.AsyncClient | None = None) -> None:
        self.runtime = runtime
        self.client = client

    def register(self) -> None:
        self.runtime.command(subjects.NOTIFICATIONS_NOTIFY, Notify, self.notify)

    async def notify(self, command: Notify) -> Sequence[Outgoing]:
        channels = ["log"]
        errors: list[str] = []
        log.info("notification", message=command.message, status=command.status, account_id=command.account_id)
        url = self.runtime.settings.webhook_url
        if url:
            try:
                client = self.client or httpx.AsyncClient(timeout=self.runtime.settings.webhook_timeout_seconds)
                try:
                    response = await client.post(
                        url, json=webhook_payload(command), headers={"Idempotency-Key": command.message_id}
                    )
                finally:
                    if self.client is None:
                        await client.aclose()
                response.raise_for_status()
                channels.append("webhook")
            except httpx.HTTPError as exc:
                errors.append(f"webhook {url}: {type(exc).__name__}: {exc}")
                log.warning("webhook failed", error=errors[-1])
        settings = self.runtime.settings
        if settings.smtp_host and recipients_of(settings):
            failure = await send_report_email(settings, command)
            if failure is None:
                channels.append("email")
            else:
                errors.append(failure)
                log.warning("email failed", error=failure)
        event = Notified(
            **result_envelope(command, self.runtime.clock.now()),
            channels=channels,
            errors=errors,
        )
        return [Outgoing(subjects.NOTIFICATIONS_NOTIFIED, event, event.message_id)]
