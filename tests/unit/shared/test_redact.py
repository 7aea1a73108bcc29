"""Secrets in URLs (userinfo, query values) never reach a log line or a stored record."""

from __future__ import annotations

from shared.redact import redact_text, redact_url, redact_urls


def test_userinfo_and_query_values_are_redacted() -> None:
    assert (
        redact_url("https://user:pa55@hooks.example/x?token=abc&v=1") == "https://***@hooks.example/x?token=***&v=***"
    )
    assert redact_url("https://hooks.example/x") == "https://hooks.example/x"
    assert redact_url("http://only-user@h/x#frag") == "http://***@h/x#***"


def test_nats_url_lists_and_messages() -> None:
    assert redact_urls("nats://svc:pw@n1:4222, tls://n2:4222?token=x") == "nats://***@n1:4222,tls://n2:4222?token=***"
    message = "ConnectError for url 'https://u:p@hooks.example/x?sig=abc&v=1'"
    assert redact_text(message) == "ConnectError for url 'https://***@hooks.example/x?sig=***&v=***'"
    assert redact_text("no url here") == "no url here"
