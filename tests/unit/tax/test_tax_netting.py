"""§1211(b) $3,000 / $1,500 deduction and §1212(b) carryforward with its character."""

from __future__ import annotations

from services.tax.domain import FilingStatus, compute_realized, net_year, net_years

from .helpers import D, tx


def test_short_term_loss_carries_forward_as_short_term_across_years() -> None:
    years = net_years({2024: (D(-10000), D(2000), D(0)), 2025: (D(0), D(1000), D(0)), 2027: (D(0), D(0), D(0))})
    y24, y25, y26, y27 = years
    assert (y24.deductible_loss, y24.carryforward_short_term, y24.carryforward_long_term) == (3000, 5000, 0)
    assert (y25.net_short_term, y25.net_long_term, y25.deductible_loss) == (-5000, 1000, 3000)
    assert (y25.carryforward_short_term, y25.carryforward_long_term) == (1000, 0)
    assert (y26.year, y26.deductible_loss, y26.carryforward) == (2026, 1000, 0)
    assert y27.deductible_loss == 0


def test_long_term_loss_keeps_its_character() -> None:
    year = net_year(year=2024, short_term=D(1000), long_term=D(-6000))
    assert (year.deductible_loss, year.carryforward_short_term, year.carryforward_long_term) == (
        3000,
        0,
        2000,
    )


def test_deduction_uses_short_term_loss_first() -> None:
    year = net_year(year=2024, short_term=D(-2000), long_term=D(-4000))
    assert (year.deductible_loss, year.carryforward_short_term, year.carryforward_long_term) == (
        3000,
        0,
        3000,
    )


def test_net_gain_has_no_deduction_or_carryforward() -> None:
    year = net_year(year=2024, short_term=D(-2000), long_term=D(5000), carryover_long_term=D(1000))
    assert year.net == 2000 and year.deductible_loss == 0 and year.carryforward == 0


def test_1212_b_2_low_taxable_income_preserves_more_carryover() -> None:
    year = net_year(year=2024, short_term=D(-5000), long_term=D(0), taxable_income=D(-1000))
    assert year.deductible_loss == 3000 and year.carryforward_short_term == 3000


def test_married_filing_separately_limit_through_compute_realized() -> None:
    rows = [tx("buy", "2024-01-02", "XYZ", 100, 100), tx("sell", "2024-03-01", "XYZ", 100, 50)]
    single = compute_realized(rows).years[0]
    mfs = compute_realized(rows, filing_status=FilingStatus.MARRIED_FILING_SEPARATELY).years[0]
    assert (single.deductible_loss, single.carryforward_short_term) == (3000, 2000)
    assert (mfs.deductible_loss, mfs.carryforward_short_term) == (1500, 3500)


def test_realized_years_include_quiet_years_between_sales() -> None:
    rows = [
        tx("buy", "2023-01-03", "XYZ", 100, 100),
        tx("sell", "2024-03-01", "XYZ", 50, 10),  # long-term loss 4,500
        tx("sell", "2026-03-02", "XYZ", 50, 120),  # long-term gain 1,000
    ]
    years = compute_realized(rows).years
    assert [y.year for y in years] == [2024, 2025, 2026]
    assert [y.carryforward_long_term for y in years] == [1500, 0, 0]
    assert years[1].deductible_loss == 1500 and years[2].net == 1000
