"""Exact money and share arithmetic.

Cash, prices, cost basis and share quantities are :class:`decimal.Decimal` everywhere in the ledger and on
the wire. Binary floats are accepted only at the edges (numeric optimizers, risk statistics) and converted
through :func:`to_decimal`, which goes through ``str`` so that ``0.1`` becomes ``Decimal("0.1")``.
Rounding to cents happens only at the edges (reports, order notional), with banker's rounding avoided:
financial statements round half up. One exception is where money moves: the account's cash is settled
to the cent, each fill's net amount rounded half-even (:func:`settle`), so cash is always a whole number
of cents and repeated settlements carry no bias (lot basis and realized gains keep the exact amounts).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from shared.errors import InvalidInputError

__all__ = [
    "CENT",
    "ZERO",
    "MoneyError",
    "cents",
    "floor_shares",
    "parse_decimal",
    "settle",
    "to_decimal",
]

ZERO = Decimal("0")
CENT = Decimal("0.01")


class MoneyError(InvalidInputError, ValueError):
    """A value that should be an exact decimal amount is not one."""


def to_decimal(value: object) -> Decimal:
    """Convert ``value`` (Decimal, int, str or float) to Decimal exactly as it is written.

    Floats go through ``repr`` so ``0.1`` gives ``Decimal("0.1")``, not the binary expansion.
    NaN and infinities are refused.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise MoneyError(f"not an amount: {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        return parse_decimal(value)
    else:
        raise MoneyError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return result


def parse_decimal(text: str, *, field: str = "amount") -> Decimal:
    """Parse a decimal string such as ``"1234.56"``; the error names ``field``."""
    try:
        result = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise MoneyError(f"{field}: {text!r} is not a decimal number") from None
    if not result.is_finite():
        raise MoneyError(f"{field}: {text!r} is not a finite number")
    return result


def cents(value: Decimal) -> Decimal:
    """Round to cents, half up (the convention of statements and Form 8949)."""
    return value.quantize(CENT, ROUND_HALF_UP)  # positional: a keyword doubles the call's cost


def settle(amount: Decimal) -> Decimal:
    """The cash that moves for ``amount`` (a fill's net proceeds or cost): to the cent, half-even.

    Half-even and not half up because it is applied once per fill, thousands of times over an account's
    life: an exact half cent goes to the even cent, so settlements do not drift cash one way."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def floor_shares(value: Decimal, *, fractional: bool = False, places: int = 6) -> Decimal:
    """Round a share quantity toward zero: whole shares, or ``places`` decimals when fractional."""
    quantum = Decimal(1).scaleb(-places) if fractional else Decimal(1)
    return value.quantize(quantum, rounding=ROUND_DOWN)
