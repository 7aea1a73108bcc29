"""Holding-period arithmetic (IRS Publication 550, "Holding Period"; Rev. Rul. 66-7).

The holding period starts the day after acquisition and includes the day of sale. Property is held
long-term when it is held *more than one year*. So a lot bought on 2024-02-05 is long-term when sold on
2025-02-06 or later, and short-term when sold on 2025-02-05.

Month ends: property acquired on the last day of a month must be held past the last day of the same
month one year later (Rev. Rul. 66-7), so a lot bought 2023-02-28 becomes long-term on 2024-03-01 (2024
is a leap year: 2024-02-29 is still short-term), and one bought 2024-02-29 becomes long-term on
2025-03-01.
"""

from __future__ import annotations

import calendar
from datetime import date
from enum import StrEnum

__all__ = ["Term", "is_long_term", "long_term_date", "one_year_after", "term_of"]


class Term(StrEnum):
    """Character of a gain or loss by holding period."""

    SHORT = "short"
    LONG = "long"


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def one_year_after(acquired: date) -> date:
    """The last day on which a lot acquired on ``acquired`` is still short-term."""
    year = acquired.year + 1
    if acquired.day == _last_day(acquired.year, acquired.month):
        return date(year, acquired.month, _last_day(year, acquired.month))
    return date(year, acquired.month, acquired.day)


def long_term_date(acquired: date) -> date:
    """The first sale date on which a lot acquired on ``acquired`` is long-term."""
    return date.fromordinal(one_year_after(acquired).toordinal() + 1)


def is_long_term(acquired: date, sold: date) -> bool:
    """True when held more than one year: ``sold`` is after the one-year anniversary."""
    return sold > one_year_after(acquired)


def term_of(acquired: date, sold: date) -> Term:
    """Short or long term for a lot acquired on ``acquired`` and sold on ``sold``."""
    return Term.LONG if is_long_term(acquired, sold) else Term.SHORT
