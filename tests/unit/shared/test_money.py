"""Exact money helpers: floats via repr, cents half up, shares floored."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.money import CENT, ZERO, MoneyError, cents, floor_shares, parse_decimal, to_decimal

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (1234.56, "1234.56"),
        (0.30000000000000004, "0.30000000000000004"),
        (1e-7, "1E-7"),
        (7, "7"),
        ("  12.50 ", "12.50"),
        (D("3.14159"), "3.14159"),
    ],
)
def test_to_decimal(value: object, expected: str) -> None:
    got = to_decimal(value)
    assert isinstance(got, Decimal)
    assert got == D(expected)
    assert str(got) == str(D(expected))


def test_to_decimal_of_a_float_is_not_its_binary_expansion() -> None:
    assert to_decimal(0.1) != D(0.1)
    assert to_decimal(0.1) + to_decimal(0.2) == D("0.3")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), D("NaN"), D("Infinity"), True, None, [1]])
def test_to_decimal_refuses_non_amounts(value: object) -> None:
    with pytest.raises(MoneyError):
        to_decimal(value)


def test_parse_decimal_names_the_field() -> None:
    assert parse_decimal("1234.56") == D("1234.56")
    with pytest.raises(MoneyError, match=r"^price: 'abc' is not a decimal number$"):
        parse_decimal("abc", field="price")
    with pytest.raises(MoneyError, match=r"^cash: 'inf' is not a finite number$"):
        parse_decimal("inf", field="cash")
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # half up, not to even
        ("2.675", "2.68"),
        ("-0.005", "-0.01"),
        ("1.004999", "1.00"),
        ("10", "10.00"),
    ],
)
def test_cents_half_up(value: str, expected: str) -> None:
    got = cents(D(value))
    assert got == D(expected)
    assert got.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "fractional", "expected"),
    [
        ("10.999", False, "10"),
        ("0.9", False, "0"),
        ("-1.5", False, "-1"),
        ("1.23456789", True, "1.234567"),
        ("5", True, "5.000000"),
    ],
)
def test_floor_shares(value: str, fractional: bool, expected: str) -> None:
    assert str(floor_shares(D(value), fractional=fractional)) == expected


def test_floor_shares_places() -> None:
    assert floor_shares(D("1.239"), fractional=True, places=2) == D("1.23")


def test_constants() -> None:
    assert ZERO == 0 and D("0.01") == CENT
