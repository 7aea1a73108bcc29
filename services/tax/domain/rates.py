"""Marginal rates and estimated tax on capital gains for a tax profile.

Marginal rates (used per lot and for harvest savings):
- short-term: the ordinary bracket rate of the next dollar above ``taxable_income``;
- long-term: 0%, 15% or 20% by where ``taxable_income`` falls against the year's thresholds;
- collectibles (e.g. GLD, IAU, SLV) long-term: the ordinary rate, at most 28%;
- plus NIIT 3.8% when ``magi`` is at or above the threshold (§1411), plus the flat ``state_rate``.
Overrides (per account) replace the federal short-term rate, the federal long-term rate or the state rate.

:func:`estimate_tax` stacks a set of gains on top of taxable income instead (see its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.holding_period import Term
from shared.money import ZERO

from .tables import FilingStatus, TaxTable, tax_table

__all__ = [
    "MarginalRates",
    "RateOverrides",
    "TaxEstimate",
    "TaxProfile",
    "estimate_tax",
    "marginal_rates",
    "ordinary_tax",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxProfile:
    """The household's tax situation. Amounts in dollars; ``state_rate`` a fraction (0.05 = 5%).
    ``taxable_income`` excludes the gains being evaluated."""

    filing_status: FilingStatus = FilingStatus.SINGLE
    taxable_income: Decimal = ZERO
    magi: Decimal = ZERO
    state_rate: Decimal = ZERO


@dataclass(frozen=True, slots=True, kw_only=True)
class RateOverrides:
    """Per-account replacements for the computed rates (fractions); None keeps the computed one."""

    federal_marginal_rate: Decimal | None = None
    federal_long_term_rate: Decimal | None = None
    state_rate: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginalRates:
    """Marginal rates (fractions) of the next dollar of gain, by component."""

    tax_year: int
    federal_short_term: Decimal
    federal_long_term: Decimal
    federal_collectible: Decimal
    niit: Decimal
    state: Decimal

    @property
    def short_term(self) -> Decimal:
        return self.federal_short_term + self.niit + self.state

    @property
    def long_term(self) -> Decimal:
        return self.federal_long_term + self.niit + self.state

    @property
    def collectible_long_term(self) -> Decimal:
        return self.federal_collectible + self.niit + self.state

    def rate_for(self, term: Term, *, collectible: bool = False) -> Decimal:
        if term is Term.SHORT:
            return self.short_term
        return self.collectible_long_term if collectible else self.long_term


def _bracket_rate(table: TaxTable, status: FilingStatus, income: Decimal) -> Decimal:
    for bracket in table.brackets(status):
        if bracket.upper is None or income < bracket.upper:
            return bracket.rate
    return table.brackets(status)[-1].rate


def _long_term_rate(table: TaxTable, status: FilingStatus, income: Decimal) -> Decimal:
    column = status.table_column
    if income < table.long_term_zero_rate_max[column]:
        return Decimal("0")
    if income < table.long_term_fifteen_rate_max[column]:
        return Decimal("0.15")
    return Decimal("0.20")


def marginal_rates(
    profile: TaxProfile, *, year: int, overrides: RateOverrides | None = None, nearest: bool = True
) -> MarginalRates:
    """Marginal rates for ``profile`` in tax ``year`` (the nearest table when the year has none)."""
    table = tax_table(year, nearest=nearest)
    status = profile.filing_status
    ordinary = _bracket_rate(table, status, profile.taxable_income)
    over = overrides or RateOverrides()
    federal_st = ordinary if over.federal_marginal_rate is None else over.federal_marginal_rate
    federal_lt = (
        _long_term_rate(table, status, profile.taxable_income)
        if over.federal_long_term_rate is None
        else over.federal_long_term_rate
    )
    niit = table.niit_rate if profile.magi >= table.niit_magi_threshold[status.table_column] else ZERO
    return MarginalRates(
        tax_year=table.year,
        federal_short_term=federal_st,
        federal_long_term=federal_lt,
        federal_collectible=min(federal_st, table.collectibles_max_rate),
        niit=niit,
        state=profile.state_rate if over.state_rate is None else over.state_rate,
    )


def _slice_tax(table: TaxTable, status: FilingStatus, start: Decimal, end: Decimal, cap: Decimal | None) -> Decimal:
    """Ordinary tax on the income between ``start`` and ``end``, each bracket rate capped at ``cap``."""
    tax, lower = ZERO, ZERO
    for bracket in table.brackets(status):
        upper = end if bracket.upper is None else min(bracket.upper, end)
        low = max(lower, start)
        if upper > low:
            rate = bracket.rate if cap is None else min(bracket.rate, cap)
            tax += (upper - low) * rate
        if bracket.upper is None or bracket.upper >= end:
            break
        lower = bracket.upper
    return tax


def ordinary_tax(income: Decimal, status: FilingStatus, *, year: int) -> Decimal:
    """Tax on ``income`` of ordinary taxable income through the year's brackets (unrounded)."""
    return _slice_tax(tax_table(year), status, ZERO, max(ZERO, income), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxEstimate:
    """Extra tax (negative: tax saved) caused by a set of gains, by component, in dollars."""

    ordinary: Decimal
    capital_gains: Decimal
    niit: Decimal
    state: Decimal

    @property
    def total(self) -> Decimal:
        return self.ordinary + self.capital_gains + self.niit + self.state


def _long_term_slice(table: TaxTable, status: FilingStatus, start: Decimal, amount: Decimal) -> Decimal:
    column = status.table_column
    zero_max, fifteen_max = table.long_term_zero_rate_max[column], table.long_term_fifteen_rate_max[column]
    end = start + amount
    in_zero = max(ZERO, min(end, zero_max) - start)
    in_fifteen = max(ZERO, min(end, fifteen_max) - max(start, zero_max))
    in_twenty = amount - in_zero - in_fifteen
    return in_fifteen * Decimal("0.15") + in_twenty * Decimal("0.20")


def estimate_tax(
    profile: TaxProfile,
    *,
    year: int,
    short_term: Decimal,
    long_term: Decimal,
    collectible_long_term: Decimal = ZERO,
) -> TaxEstimate:
    """Tax caused by realizing these net gains on top of ``profile`` (stacking through the brackets).

    ``long_term`` includes ``collectible_long_term``. Short and long are netted (a net short-term loss
    reduces collectible gain first). A net short-term gain is ordinary income stacked on taxable income;
    long-term gain is stacked above it at 0/15/20%, collectible gain on top at the ordinary rate capped at
    28%. A net loss saves ordinary tax on the deductible part (up to the year's $3,000 / $1,500 limit).
    NIIT is 3.8% of the part of MAGI (plus the net gain) above the threshold, assuming net investment
    income is at least that; the state tax is ``state_rate`` on the net gain. Simplifications: no loss
    carryovers in, no other gains or qualified dividends of the year, no AMT.
    """
    table = tax_table(year, nearest=True)
    status = profile.filing_status
    collectible = min(max(ZERO, collectible_long_term), max(ZERO, long_term))
    regular_lt = long_term - collectible
    st = short_term
    if st < 0 < long_term:
        absorbed = min(-st, collectible)
        collectible -= absorbed
        st += absorbed
        absorbed = min(-st, max(ZERO, regular_lt))
        regular_lt -= absorbed
        st += absorbed
    elif long_term < 0 < st:
        absorbed = min(-long_term, st)
        st -= absorbed
        regular_lt += absorbed
    net = st + regular_lt + collectible
    ti, magi = profile.taxable_income, profile.magi
    threshold = table.niit_magi_threshold[status.table_column]

    def niit(gain: Decimal) -> Decimal:
        return table.niit_rate * (max(ZERO, magi + gain - threshold) - max(ZERO, magi - threshold))

    if net < 0:
        deduction = min(table.loss_limit(status), -net)
        ordinary = _slice_tax(table, status, max(ZERO, ti - deduction), max(ZERO, ti), None)
        return TaxEstimate(
            ordinary=-ordinary,
            capital_gains=ZERO,
            niit=niit(-deduction),
            state=-deduction * profile.state_rate,
        )
    st, regular_lt = max(ZERO, st), max(ZERO, regular_lt)
    ordinary = _slice_tax(table, status, ti, ti + st, None)
    gains = _long_term_slice(table, status, ti + st, regular_lt)
    top = ti + st + regular_lt
    gains += _slice_tax(table, status, top, top + collectible, table.collectibles_max_rate)
    return TaxEstimate(ordinary=ordinary, capital_gains=gains, niit=niit(net), state=net * profile.state_rate)
