"""Capital gain netting by tax year, the capital-loss deduction and the carryforward.

- §1211(b): a net capital loss is deductible against ordinary income up to $3,000 ($1,500 married filing
  separately) a year; the limit comes from the tax tables (``capital_loss_limit``).
- §1212(b)(1): the rest carries forward with its character: short-term loss beyond net long-term gain
  stays short-term, long-term loss beyond net short-term gain stays long-term; the deduction uses up
  short-term loss first (Schedule D instructions, Capital Loss Carryover Worksheet).
- §1212(b)(2): when ``taxable_income`` (before the deduction) of a year is given, the deduction that
  counts against the carryover is capped at taxable income plus the deduction (never below zero). Without
  it, taxable income is assumed large enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.money import ZERO

__all__ = ["YearSummary", "net_year", "net_years"]


@dataclass(frozen=True, slots=True, kw_only=True)
class YearSummary:
    """One tax year. ``short_term`` and ``long_term`` are the year's own net realized gains (negative for a
    net loss, wash-sale adjusted), before any carryover; ``carryover_*`` came in from the previous year
    (as negative amounts); ``deductible_loss`` is the amount deducted from ordinary income (positive);
    ``carryforward_*`` go to the next year (positive amounts of loss)."""

    year: int
    short_term: Decimal
    long_term: Decimal
    disallowed: Decimal
    carryover_short_term: Decimal = ZERO
    carryover_long_term: Decimal = ZERO
    deductible_loss: Decimal = ZERO
    carryforward_short_term: Decimal = ZERO
    carryforward_long_term: Decimal = ZERO

    @property
    def net_short_term(self) -> Decimal:
        return self.short_term + self.carryover_short_term

    @property
    def net_long_term(self) -> Decimal:
        return self.long_term + self.carryover_long_term

    @property
    def net(self) -> Decimal:
        """Schedule D line 16: net capital gain (loss) after carryovers."""
        return self.net_short_term + self.net_long_term

    @property
    def carryforward(self) -> Decimal:
        return self.carryforward_short_term + self.carryforward_long_term


def net_year(
    *,
    year: int,
    short_term: Decimal,
    long_term: Decimal,
    disallowed: Decimal = ZERO,
    carryover_short_term: Decimal = ZERO,
    carryover_long_term: Decimal = ZERO,
    loss_limit: Decimal = Decimal(3000),
    taxable_income: Decimal | None = None,
) -> YearSummary:
    """Net one year. Carryovers in are positive amounts of loss (as ``carryforward_*`` gives them)."""
    st = short_term - carryover_short_term
    lt = long_term - carryover_long_term
    net = st + lt
    deductible = min(loss_limit, -net) if net < 0 else ZERO
    allowance = deductible
    if taxable_income is not None:
        allowance = min(deductible, max(ZERO, taxable_income + deductible))
    st_loss = max(ZERO, -st)
    lt_loss = max(ZERO, -lt)
    carry_st = max(ZERO, st_loss - (max(ZERO, lt) + allowance))
    carry_lt = max(ZERO, lt_loss - (max(ZERO, st) + max(ZERO, allowance - st_loss)))
    return YearSummary(
        year=year,
        short_term=short_term,
        long_term=long_term,
        disallowed=disallowed,
        carryover_short_term=-carryover_short_term,
        carryover_long_term=-carryover_long_term,
        deductible_loss=deductible,
        carryforward_short_term=carry_st,
        carryforward_long_term=carry_lt,
    )


def net_years(
    by_year: Mapping[int, tuple[Decimal, Decimal, Decimal]],
    *,
    loss_limit: Decimal | Mapping[int, Decimal] = Decimal(3000),
    carryover_short_term: Decimal = ZERO,
    carryover_long_term: Decimal = ZERO,
    taxable_income: Mapping[int, Decimal] | None = None,
) -> list[YearSummary]:
    """Net every year from the first to the last in ``by_year`` (years without sales included, since the
    deduction still uses up the carryover). ``by_year`` maps a year to (short-term, long-term, disallowed).
    """
    if not by_year:
        return []
    summaries = []
    carry_st, carry_lt = carryover_short_term, carryover_long_term
    for year in range(min(by_year), max(by_year) + 1):
        st, lt, disallowed = by_year.get(year, (ZERO, ZERO, ZERO))
        limit = loss_limit if isinstance(loss_limit, Decimal) else loss_limit[year]
        summary = net_year(
            year=year,
            short_term=st,
            long_term=lt,
            disallowed=disallowed,
            carryover_short_term=carry_st,
            carryover_long_term=carry_lt,
            loss_limit=limit,
            taxable_income=(taxable_income or {}).get(year),
        )
        summaries.append(summary)
        carry_st, carry_lt = summary.carryforward_short_term, summary.carryforward_long_term
    return summaries
