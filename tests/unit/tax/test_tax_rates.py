"""Tax tables (tax-tables.md, Rev. Proc. 2024-40 and 2025-32), marginal rates and the stacked estimate."""

from __future__ import annotations

import pytest

from services.tax.domain import (
    FilingStatus,
    RateOverrides,
    TaxProfile,
    UnknownTaxYearError,
    available_years,
    estimate_tax,
    marginal_rates,
    ordinary_tax,
    tax_table,
)

from .helpers import D

STATUSES = [s for s in FilingStatus if s is not FilingStatus.QUALIFYING_SURVIVING_SPOUSE]


@pytest.mark.parametrize("year", [2025, 2026])
@pytest.mark.parametrize("status", STATUSES)
def test_brackets_reproduce_the_irs_base_tax_where_37_percent_starts(year: int, status: FilingStatus) -> None:
    expected = {
        2025: {"single": "188769.75", "married_filing_jointly": "202154.50",
               "married_filing_separately": "101077.25", "head_of_household": "187031.50"},
        2026: {"single": "192979.25", "married_filing_jointly": "206583.50",
               "married_filing_separately": "103291.75", "head_of_household": "191171"},
    }  # fmt: skip
    top_35 = tax_table(year).brackets(status)[-2].upper
    assert top_35 is not None
    assert ordinary_tax(top_35, status, year=year) == D(expected[year][status.value])


def test_tables_cover_2025_and_2026_and_qss_uses_joint_column() -> None:
    assert {2025, 2026} <= set(available_years())
    table = tax_table(2026)
    assert table.brackets(FilingStatus.QUALIFYING_SURVIVING_SPOUSE) == table.brackets(
        FilingStatus.MARRIED_FILING_JOINTLY
    )
    assert table.niit_magi_threshold[FilingStatus.QUALIFYING_SURVIVING_SPOUSE.table_column] == 250000
    assert table.loss_limit(FilingStatus.MARRIED_FILING_SEPARATELY) == 1500
    with pytest.raises(UnknownTaxYearError):
        tax_table(1990)
    assert tax_table(2031, nearest=True).year == max(available_years())


def test_ordinary_tax_single_2025() -> None:
    # 10% of 11,925 + 12% of 36,550 + 22% of 51,525
    assert ordinary_tax(D(100000), FilingStatus.SINGLE, year=2025) == D("16914.00")


def test_marginal_rates_of_the_demo_household_2026() -> None:
    profile = TaxProfile(
        filing_status=FilingStatus.SINGLE, taxable_income=D(185000), magi=D(185000), state_rate=D("0.05")
    )
    rates = marginal_rates(profile, year=2026)
    assert (rates.federal_short_term, rates.federal_long_term, rates.niit) == (D("0.24"), D("0.15"), 0)
    assert rates.short_term == D("0.29") and rates.long_term == D("0.20")
    high = marginal_rates(TaxProfile(taxable_income=D(600000), magi=D(650000)), year=2025)
    assert (high.federal_short_term, high.federal_long_term, high.niit) == (D("0.35"), D("0.20"), D("0.038"))
    assert high.federal_collectible == D("0.28") and high.collectible_long_term == D("0.318")
    low = marginal_rates(TaxProfile(taxable_income=D(100000)), year=2025)
    assert low.federal_collectible == D("0.22")


@pytest.mark.parametrize(
    ("income", "rate"), [("48349", "0"), ("48350", "0.15"), ("533399", "0.15"), ("533400", "0.20")]
)
def test_long_term_thresholds_single_2025(income: str, rate: str) -> None:
    assert marginal_rates(TaxProfile(taxable_income=D(income)), year=2025).federal_long_term == D(rate)


def test_overrides_replace_federal_and_state_rates() -> None:
    rates = marginal_rates(
        TaxProfile(taxable_income=D(100000), state_rate=D("0.05")),
        year=2025,
        overrides=RateOverrides(federal_marginal_rate=D("0.30"), federal_long_term_rate=D("0.10"), state_rate=D(0)),
    )
    assert (rates.short_term, rates.long_term) == (D("0.30"), D("0.10"))


def test_estimate_stacks_long_term_gain_through_the_zero_bracket() -> None:
    estimate = estimate_tax(
        TaxProfile(taxable_income=D(40000), magi=D(40000)), year=2025, short_term=D(0), long_term=D(20000)
    )
    # 8,350 at 0% (up to 48,350), 11,650 at 15%
    assert estimate.capital_gains == D("1747.50") and estimate.total == D("1747.50")


def test_estimate_short_term_gain_is_ordinary_and_niit_applies_over_threshold() -> None:
    profile = TaxProfile(taxable_income=D(190000), magi=D(195000), state_rate=D("0.05"))
    estimate = estimate_tax(profile, year=2025, short_term=D(10000), long_term=D(0))
    assert estimate.ordinary == D("7300") * D("0.24") + D("2700") * D("0.32")
    assert estimate.niit == D("5000") * D("0.038") and estimate.state == D(500)


def test_estimate_net_loss_saves_ordinary_tax_on_3000() -> None:
    estimate = estimate_tax(
        TaxProfile(taxable_income=D(100000), magi=D(100000)), year=2025, short_term=D(-5000), long_term=D(0)
    )
    assert estimate.total == D(-660)


def test_estimate_collectible_gain_capped_at_28_percent() -> None:
    profile = TaxProfile(taxable_income=D(700000), magi=D(0))
    estimate = estimate_tax(profile, year=2025, short_term=D(0), long_term=D(1000), collectible_long_term=D(1000))
    assert estimate.capital_gains == D(280)
