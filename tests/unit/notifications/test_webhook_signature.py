"""The webhook signature as a receiver checks it, and delivery's retries (no network: a mock transport)."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from services.notifications.webhook import deliver, sign, verify

BODY = b'{"event":"portfolio.rebalance.completed","runId":"r1"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign("sec", BODY, 1_767_225_600)
    expected = hmac.new(b"sec", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"


def test_receiver_accepts_within_the_window_and_refuses_tampering_and_replays() -> None:
    header = sign("sec", BODY, 1_000_000)
    assert verify("sec", header, BODY, now=1_000_100)
    assert not verify("sec", header, BODY + b" ", now=1_000_100)  # body changed
    assert not verify("other", header, BODY, now=1_000_100)  # wrong secret
    assert not verify("sec", header, BODY, now=1_000_301)  # outside the 300 s replay window
    assert not verify("sec", header.replace("t=1000000", "t=1000050"), BODY, now=1_000_100)  # t changed
    assert not verify("sec", "v1=abc", BODY, now=1_000_100)


async def test_delivery_retries_with_doubling_back_off_then_gives_up() -> None:
    statuses = iter([500, 429, 502])
    seen: list[httpx.Request] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(statuses))

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await deliver(client, "https://h/x", BODY, headers={}, attempts=3, backoff=0.5, secret="sec",
                               now=lambda: 1_000_000.0, sleep=sleep)  # fmt: skip
    assert (result.delivered, result.attempts, result.error) == (False, 3, "HTTP 502")
    assert slept == [0.5, 1.0]
    assert all(verify("sec", r.headers["Rebalancer-Signature"], r.content, now=1_000_000) for r in seen)


async def test_a_refusal_is_not_retried_and_success_stops() -> None:
    async def no_sleep(seconds: float) -> None:
        raise AssertionError("no back-off expected")

    for status, delivered in ((400, False), (204, True)):
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r, s=status: httpx.Response(s))) as client:
            result = await deliver(client, "https://h/x", BODY, headers={}, attempts=5, backoff=1, secret=None,
                                   now=lambda: 0.0, sleep=no_sleep)  # fmt: skip
        assert (result.delivered, result.attempts) == (delivered, 1)
