"""Webhooks through a real run: signed (the receiver verifies the signature), retried with back-off,
dead-lettered after the last try; the URL's credentials and query token never reach the run's record."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contracts import encode, subjects
from services.notifications.webhook import SIGNATURE_HEADER, verify
from shared.bus.dlq import DLQ_REASON_HEADER
from shared.settings import Settings
from shared.testing.system import running_system

pytestmark = pytest.mark.integration

SECRET = "whsec-test"


class Receiver:
    """A local webhook receiver answering a scripted status per POST (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def url(self) -> str:
        return f"http://hookuser:s3cret-pass@127.0.0.1:{self.port}/hook?token=tok-123"


@pytest.fixture
def receiver_factory() -> Iterator[type[Receiver]]:
    started: list[Receiver] = []

    class Started(Receiver):
        def __init__(self, statuses: list[int]) -> None:
            super().__init__(statuses)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
            started.append(self)

    yield Started
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


def _hooked(settings: Settings, url: str, attempts: int) -> Settings:
    return settings.model_copy(
        update={
            "webhook_url": url,
            "webhook_secret": SECRET,
            "webhook_attempts": attempts,
            "webhook_backoff_seconds": 0.05,
        }
    )


async def test_signed_and_retried_until_delivered(settings: Settings, receiver_factory: type[Receiver]) -> None:
    receiver = receiver_factory([500, 503])
    async with running_system(_hooked(settings, receiver.url(), attempts=3)) as system:
        run_id = await system.request_run("demo", dry_run=True)
        record = await system.wait_for_run(run_id)
    assert record.status == "completed"
    assert len(receiver.received) == 3  # two failures, then delivered
    for headers, body in receiver.received:
        assert verify(SECRET, headers[SIGNATURE_HEADER.lower()], body, now=time.time())
        assert not verify("another-secret", headers[SIGNATURE_HEADER.lower()], body, now=time.time())
        assert headers["authorization"].startswith("Basic ")  # the URL's credentials still authenticate
    assert b'"runId":"' + run_id.encode() in receiver.received[-1][1]
    stored = encode(record)
    assert b"s3cret-pass" not in stored and b"tok-123" not in stored


async def test_dead_lettered_after_the_last_try_without_the_secret(
    settings: Settings, receiver_factory: type[Receiver]
) -> None:
    receiver = receiver_factory([500, 500, 500])
    async with running_system(_hooked(settings, receiver.url(), attempts=2)) as system:
        run_id = await system.request_run("demo", dry_run=True)
        record = await system.wait_for_run(run_id)
        js = system.client.jetstream()
        dead = await js.get_last_msg(subjects.STREAM_DLQ, subjects.dlq_subject(subjects.NOTIFICATIONS_NOTIFY))
    assert record.status == "completed"  # a failed notification never fails the run
    assert len(receiver.received) == 2
    reason = (dead.headers or {})[DLQ_REASON_HEADER]
    assert "webhook" in reason and "HTTP 500" in reason and "2 tries" in reason
    assert "s3cret-pass" not in reason and "tok-123" not in reason
    assert run_id.encode() in (dead.data or b"")  # the Notify command itself: a replay sends the notification again
    notify = record.step("send-notifications")
    assert "s3cret-pass" not in encode(notify).decode() and "***" in encode(notify).decode()
