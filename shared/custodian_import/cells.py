"""Read one cell of a custodian export: numbers as custodians write them, dates in each layout's format.

Each reader returns the value or raises :class:`~shared.errors.InvalidInputError` with what is wrong (the
message has neither the field's name nor the line); the row readers turn that into
``line 14: shares: not a number ('12,5x')``."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from shared.errors import InvalidInputError

__all__ = ["EMPTY_MARKS", "is_empty", "parse_amount", "parse_date"]

EMPTY_MARKS = frozenset({"", "--", "-", "n/a", "na", "none"})
"""What a custodian writes in a cell that has no value."""

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
_PLAIN = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")


def is_empty(raw: str) -> bool:
    return raw.strip().lower() in EMPTY_MARKS


def parse_amount(raw: str) -> Decimal:
    """A decimal amount: ``1234.56``, ``$1,234.56``, ``-12.50``, ``(12.50)`` (negative), ``+3``, ``1,000``.

    Thousands separators must group by three (``12,5`` is refused, not read as 125 or 12.5); a currency
    sign ``$`` and surrounding spaces are allowed; anything else is refused."""
    text = raw.strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    signed = dollar = False
    for _ in range(2):  # a sign and a dollar sign, in either order: -$12.50, $-12.50
        if text[:1] in ("+", "-") and not signed:
            signed, negative, text = True, negative ^ (text[0] == "-"), text[1:].strip()
        elif text[:1] == "$" and not dollar:
            dollar, text = True, text[1:].strip()
    if _GROUPED.match(text):
        text = text.replace(",", "")
    if not _PLAIN.match(text):
        raise InvalidInputError(f"not a number ({raw!r})")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise InvalidInputError(f"not a number ({raw!r})") from None
    return -value if negative else value


_DATE_FORMATS = {
    "iso": ("%Y-%m-%d",),
    "us": ("%m/%d/%Y",),
    "ibkr": ("%Y%m%d", "%Y-%m-%d"),
}


def parse_date(raw: str, style: str) -> date:
    """A date in ``style``: ``iso`` (``2024-03-15``), ``us`` (``03/15/2024``), ``ibkr`` (``20240315``,
    ``20240315;093000``, ``2024-03-15, 09:30:00`` or ``2024-03-15 09:30:00``: the time is dropped)."""
    text = raw.strip()
    if style == "ibkr":
        text = re.split(r"[;, T]", text, maxsplit=1)[0]
    for pattern in _DATE_FORMATS[style]:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    expected = {"iso": "YYYY-MM-DD", "us": "MM/DD/YYYY", "ibkr": "YYYYMMDD"}[style]
    raise InvalidInputError(f"not a date {expected} ({raw!r})")
