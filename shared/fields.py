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


def decimal_field(raw: Any, where: str, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    """A decimal number written as a string or a JSON number (never a boolean)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidInputError(f"{where}: expected a decimal number, got {raw!r}")
    try:
        value = parse_decimal(str(raw), field=where)
    except MoneyError as exc:
        raise InvalidInputError(str(exc)) from None
    if positive and value <= 0:
        raise InvalidInputError(f"{where}: must be positive, got {value}")
    if non_negative and value < 0:
        raise InvalidInputError(f"{where}: must not be negative, got {value}")
    return value


def date_field(raw: Any, where: str) -> date:
    """An ISO date, ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInputError(f"{where}: {raw!r} is not an ISO date (YYYY-MM-DD)") from None


def required(obj: Mapping[str, Any], key: str, where: str) -> Any:
    """``obj[key]``, or an error naming ``where.key`` as missing."""
    if key not in obj:
        raise InvalidInputError(f"{where}.{key}: missing")
    return obj[key]
