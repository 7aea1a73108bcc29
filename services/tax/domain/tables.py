"""Tax tables keyed by tax year, read from ``data/tax_tables.json`` (sources cited in the file)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path

from shared.lot_ledger.errors import UnknownTaxYearError

__all__ = ["TAX_TABLES_FILE", "Bracket", "FilingStatus", "TaxTable", "available_years", "tax_table"]

TAX_TABLES_FILE = Path(__file__).parent / "data" / "tax_tables.json"


class FilingStatus(StrEnum):
    SINGLE = "single"
    MARRIED_FILING_JOINTLY = "married_filing_jointly"
    MARRIED_FILING_SEPARATELY = "married_filing_separately"
    HEAD_OF_HOUSEHOLD = "head_of_household"
    QUALIFYING_SURVIVING_SPOUSE = "qualifying_surviving_spouse"

    @classmethod
    def parse(cls, text: str) -> FilingStatus:
        """Accept the full names and the short forms mfj, mfs, hoh, qss (``-`` or ``_``)."""
        key = text.strip().lower().replace("-", "_")
        short = {"mfj": "married_filing_jointly", "mfs": "married_filing_separately"}
        short |= {"hoh": "head_of_household", "qss": "qualifying_surviving_spouse"}
        try:
            return cls(short.get(key, key))
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown filing status {text!r} (one of {choices})") from None

    @property
    def table_column(self) -> str:
        """The column of the tables: a qualifying surviving spouse uses the joint column."""
        if self is FilingStatus.QUALIFYING_SURVIVING_SPOUSE:
            return FilingStatus.MARRIED_FILING_JOINTLY.value
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class Bracket:
    """``rate`` applies to taxable income above the previous bracket's ``upper`` up to this ``upper``
    (None: no upper end)."""

    upper: Decimal | None
    rate: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxTable:
    """One tax year's parameters; every mapping is keyed by :attr:`FilingStatus.table_column`."""

    year: int
    ordinary_brackets: Mapping[str, tuple[Bracket, ...]]
    long_term_zero_rate_max: Mapping[str, Decimal]
    long_term_fifteen_rate_max: Mapping[str, Decimal]
    niit_rate: Decimal
    niit_magi_threshold: Mapping[str, Decimal]
    collectibles_max_rate: Decimal
    capital_loss_limit: Mapping[str, Decimal]
    standard_deduction: Mapping[str, Decimal]
    sources: tuple[str, ...]

    def brackets(self, status: FilingStatus) -> tuple[Bracket, ...]:
        return self.ordinary_brackets[status.table_column]

    def loss_limit(self, status: FilingStatus) -> Decimal:
        return self.capital_loss_limit[status.table_column]


def _amounts(raw: Mapping[str, str]) -> dict[str, Decimal]:
    return {status: Decimal(value) for status, value in raw.items()}


def _parse(year: int, raw: Mapping[str, object]) -> TaxTable:
    def get(name: str) -> dict[str, str]:
        value = raw[name]
        assert isinstance(value, dict)
        return value

    brackets_raw: dict[str, list[list[str | None]]] = raw["ordinary_brackets"]  # type: ignore[assignment]
    sources = raw.get("sources") or []
    assert isinstance(sources, list)
    return TaxTable(
        year=year,
        ordinary_brackets={
            status: tuple(
                Bracket(upper=None if row[0] is None else Decimal(row[0]), rate=Decimal(str(row[1]))) for row in rows
            )
            for status, rows in brackets_raw.items()
        },
        long_term_zero_rate_max=_amounts(get("long_term_zero_rate_max")),
        long_term_fifteen_rate_max=_amounts(get("long_term_fifteen_rate_max")),
        niit_rate=Decimal(str(raw["niit_rate"])),
        niit_magi_threshold=_amounts(get("niit_magi_threshold")),
        collectibles_max_rate=Decimal(str(raw["collectibles_max_rate"])),
        capital_loss_limit=_amounts(get("capital_loss_limit")),
        standard_deduction=_amounts(get("standard_deduction")),
        sources=tuple(str(s) for s in sources),
    )


@cache
def _tables() -> dict[int, TaxTable]:
    raw = json.loads(TAX_TABLES_FILE.read_text(encoding="utf-8"))
    return {int(key): _parse(int(key), value) for key, value in raw.items() if key.isdigit()}


def available_years() -> tuple[int, ...]:
    return tuple(sorted(_tables()))


def tax_table(year: int, *, nearest: bool = False) -> TaxTable:
    """The table of ``year``. With ``nearest``, a year without a table uses the latest earlier table
    (or the earliest one for a year before every table); otherwise it raises UnknownTaxYearError."""
    tables = _tables()
    if year in tables:
        return tables[year]
    if not nearest:
        years = ", ".join(str(y) for y in sorted(tables))
        raise UnknownTaxYearError(f"no tax table for {year} (tables: {years})")
    earlier = [y for y in tables if y < year]
    return tables[max(earlier) if earlier else min(tables)]
