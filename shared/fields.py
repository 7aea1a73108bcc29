"""Read fields of hand-written input (JSON files, CLI options): each problem names the field's path.

Used by every reader of such input (the household file, ``rebalance plan``'s account file) so that
"``accounts[0].lots[2].shares: must be positive, got -5``" reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from shared.errors import InvalidInputError
from shared.money import MoneyError, parse_decimal

__all__ = ["date_field", "decimal_field", "required"]

_LARGEST = Decimal("1000000000000")
"""The largest amount or quantity hand-written input may give ($1 trillion, as a request's bounds)."""
_PLACES = 12
_EARLIEST = date(1900, 1, 1)
"""No lot or date of the book is older (date arithmetic around it never leaves the calendar)."""


def decimal_field(raw: Any, where: str, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    """A decimal number written as a string or a JSON number (never a boolean)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidInputError(f"{where}: expected a decimal number, got {raw!r}")
    try:
        value = parse_decimal(str(raw), field=where)
    except MoneyError as exc:
        raise InvalidInputError(str(exc)) from None
    if abs(value) > _LARGEST:
        raise InvalidInputError(f"{where}: must be at most {_LARGEST} in size, got {raw!r}")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_PLACES:
        raise InvalidInputError(f"{where}: at most {_PLACES} decimal places, got {raw!r}")
    if positive and value <= 0:
        raise InvalidInputError(f"{where}: must be positive, got {value}")
    if non_negative and value < 0:
        raise InvalidInputError(f"{where}: must not be negative, got {value}")
    return value


def date_field(raw: Any, where: str) -> date:
    """An ISO date, ``YYYY-MM-DD``."""
    try:
        value = date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInputError(f"{where}: {raw!r} is not an ISO date (YYYY-MM-DD)") from None
    if value < _EARLIEST:
        raise InvalidInputError(f"{where}: {raw!r} is before {_EARLIEST}")
    return value


def required(obj: Mapping[str, Any], key: str, where: str) -> Any:
    """``obj[key]``, or an error naming ``where.key`` as missing."""
    if key not in obj:
        raise InvalidInputError(f"{where}.{key}: missing")
    return obj[key]
