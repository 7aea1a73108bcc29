"""Secrets out of logs and stored state: the credentials in a URL (``user:password@``) and its query values
(``?token=…``) are replaced by ``***`` before a URL (or a message quoting one) is logged or recorded."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "redact_text", "redact_url", "redact_urls"]

REDACTED = "***"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` without secrets: userinfo becomes ``***@`` and every query value ``***`` (names stay)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(name, REDACTED) for name, _ in pairs], safe="*") if pairs else REDACTED
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_urls(urls: str) -> str:
    """A comma-separated list of URLs (``NATS_URL``), each redacted."""
    return ",".join(redact_url(u.strip()) for u in urls.split(",") if u.strip())


def redact_text(text: str) -> str:
    """``text`` (an error message, say) with every URL in it redacted."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)
