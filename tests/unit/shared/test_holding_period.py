"""Holding periods (IRS Publication 550): long-term is held more than one year."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.holding_period import Term, is_long_term, long_term_date, one_year_after, term_of


def test_the_publication_example() -> None:
    bought = date(2024, 2, 5)
    assert term_of(bought, date(2025, 2, 5)) is Term.SHORT
    assert term_of(bought, date(2025, 2, 6)) is Term.LONG
    assert long_term_date(bought) == date(2025, 2, 6)


@pytest.mark.parametrize(
    ("bought", "last_short", "first_long"),
    [
        (date(2023, 2, 28), date(2024, 2, 29), date(2024, 3, 1)),  # month end, into a leap year
        (date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1)),  # leap day
        (date(2024, 2, 28), date(2025, 2, 28), date(2025, 3, 1)),
        (date(2024, 4, 30), date(2025, 4, 30), date(2025, 5, 1)),
        (date(2024, 1, 31), date(2025, 1, 31), date(2025, 2, 1)),
        (date(2024, 12, 31), date(2025, 12, 31), date(2026, 1, 1)),
        (date(2024, 3, 15), date(2025, 3, 15), date(2025, 3, 16)),
    ],
)
def test_month_ends(bought: date, last_short: date, first_long: date) -> None:
    assert one_year_after(bought) == last_short
    assert long_term_date(bought) == first_long
    assert not is_long_term(bought, last_short)
    assert is_long_term(bought, first_long)
    assert term_of(bought, last_short) == "short"
    assert term_of(bought, first_long) == "long"


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 800))
def test_long_term_is_monotone(bought: date, days: int) -> None:
    sold = bought + timedelta(days=days)
    assert is_long_term(bought, sold) == (sold >= long_term_date(bought))
    assert 365 <= (one_year_after(bought) - bought).days <= 366
