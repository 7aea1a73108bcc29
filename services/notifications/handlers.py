"""Send a run's notification: always a log line; an HTTP webhook and an email when configured.

A failed webhook or email is reported in the ``notified`` event; it never fails the run. The webhook is
signed with ``WEBHOOK_SECRET`` (``Rebalancer-Signature``), tried ``WEBHOOK_ATTEMPTS`` times with a doubling
back-off, and dead-lettered (the ``Notify`` command, with the reason) after the last try. The URL's
credentials and query values never appear in a log line or in the event (the run's step detail).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence

import httpx

from contracts import Notified, Notify, encode, subjects
from services.notifications.domain import webhook_payload
from services.notifications.email import recipients_of, send_report_email
from services.notifications.webhook import deliver
from shared.bus.dlq import dead_letter
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.log import get_logger
from shared.redact import redact_url

__all__ = ["NotificationService"]

log = get_logger("notifications")


class NotificationService:
    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.sleep = sleep

    def register(self) -> None:
        self.runtime.command(subjects.NOTIFICATIONS_NOTIFY, Notify, self.notify)

    async def notify(self, command: Notify) -> Sequence[Outgoing]:
        channels = ["log"]
        errors: list[str] = []
        log.info("notification", message=command.message, status=command.status, account_id=command.account_id)
        settings = self.runtime.settings
        if settings.webhook_url:
            failure = await self._webhook(command, settings.webhook_url)
            if failure is None:
                channels.append("webhook")
            else:
                errors.append(failure)
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

    async def _webhook(self, command: Notify, url: str) -> str | None:
        """POST the notification (signed, retried); ``None`` when delivered, else why (dead-lettered too)."""
        settings = self.runtime.settings
        body = json.dumps(webhook_payload(command), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": command.message_id}
        client = self.client or httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
        try:
            result = await deliver(
                client,
                url,
                body,
                headers=headers,
                attempts=settings.webhook_attempts,
                backoff=settings.webhook_backoff_seconds,
                secret=settings.webhook_secret,
                now=lambda: self.runtime.clock.now().timestamp(),
                sleep=self.sleep,
            )
        finally:
            if self.client is None:
                await client.aclose()
        if result.delivered:
            return None
        failure = f"webhook {redact_url(url)}: gave up after {result.attempts} tries ({result.error})"
        log.warning("webhook failed, dead-lettered", error=failure)
        await dead_letter(
            self.runtime.broker,
            subject=subjects.NOTIFICATIONS_NOTIFY,
            body=encode(command),
            reason=failure,
            deliveries=result.attempts,
            service=self.runtime.service,
        )
        return failure
