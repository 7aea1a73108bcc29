"""Every service's NATS user may publish the answer to a command bundle (``<svc>.v1.evt.step-results``)
and may not publish another service's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts import subjects

ACCOUNTS = Path(__file__).resolve().parents[3] / "deploy" / "nats" / "accounts.conf"


def _publish_allows(user: str) -> list[str]:
    text = ACCOUNTS.read_text()
    start = text.index(f"user: {user}\n")
    block = text[start : text.index("subscribe:", start)]
    return re.findall(r'"([^"]+)"', block)


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` one or more trailing tokens."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


@pytest.mark.parametrize("service", subjects.SERVICES)
def test_each_service_may_publish_its_own_step_results_only(service: str) -> None:
    allows = _publish_allows(service)
    assert any(_matches(p, subjects.step_results(service)) for p in allows)
    for other in subjects.SERVICES:
        if other != service:
            assert not any(_matches(p, subjects.step_results(other)) for p in allows), other
