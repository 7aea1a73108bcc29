"""Parse a custodian lot file: find the layout from its header (or take the one named), read its rows,
assemble the accounts, and report every problem with its line number."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from contracts.imports import ImportedAccount, ImportFormat
from shared.custodian_import import generic, ibkr, schwab
from shared.custodian_import.assemble import assemble
from shared.custodian_import.rows import ImportOptions, Problems, Record, Rows, columns_of, read_records

__all__ = ["FORMATS", "ParsedImport", "detect_format", "parse_import"]

Reader = Callable[[Sequence[Record], int, ImportOptions, Problems], Rows]


@dataclass(frozen=True, slots=True)
class Layout:
    aliases: Mapping[str, Sequence[str]]
    required: Sequence[str]
    read: Reader


LAYOUTS: dict[ImportFormat, Layout] = {
    # the most specific first: a Schwab or IBKR header also has a symbol and a quantity
    "ibkr": Layout(ibkr.ALIASES, ibkr.REQUIRED, ibkr.read_ibkr),
    "schwab": Layout(schwab.ALIASES, schwab.REQUIRED, schwab.read_schwab),
    "generic": Layout(generic.ALIASES, generic.REQUIRED, generic.read_generic),
}
FORMATS: tuple[ImportFormat, ...] = ("generic", "schwab", "ibkr")
_HEADER_SEARCH = 20
"""A header is looked for in the first records (a Schwab export has a title line before it)."""


@dataclass(frozen=True, slots=True)
class ParsedImport:
    """The accounts of a file, or (``errors`` non-empty) every problem found in it."""

    format: ImportFormat | None
    accounts: list[ImportedAccount] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _matches(record: Record, layout: Layout) -> bool:
    found = columns_of(record.cells, layout.aliases)
    if not all(name in found for name in layout.required):
        # cost may be given per share instead of in total
        missing = [n for n in layout.required if n not in found]
        return missing == ["cost_basis"] and "cost_per_share" in found
    return True


def detect_format(records: Sequence[Record], wanted: ImportFormat | None = None) -> tuple[ImportFormat, int] | None:
    """The layout and the index of its header record: the first record (of the first 20) that has every
    column a layout needs; only ``wanted``'s when given."""
    candidates = [wanted] if wanted else list(LAYOUTS)
    for index, record in enumerate(records[:_HEADER_SEARCH]):
        for name in candidates:
            if name is not None and _matches(record, LAYOUTS[name]):
                return name, index
    return None


def _columns_needed(name: ImportFormat) -> str:
    return ", ".join(LAYOUTS[name].required)


def parse_import(text: str, wanted: ImportFormat | None = None, options: ImportOptions | None = None) -> ParsedImport:
    """The accounts of ``text`` (a CSV file in one of :data:`FORMATS`), or every problem found in it."""
    options = options or ImportOptions()
    try:
        records = read_records(text)
    except ValueError as exc:
        return ParsedImport(format=wanted, errors=[str(exc)])
    if not records:
        return ParsedImport(format=wanted, errors=["line 1: the file is empty"])
    found = detect_format(records, wanted)
    if found is None:
        if wanted is not None:
            message = f"line 1: no {wanted} header found (it needs the columns {_columns_needed(wanted)})"
        else:
            message = (
                "line 1: no known header found in the first 20 lines: the generic format needs "
                f"{_columns_needed('generic')}; Schwab's lot details {_columns_needed('schwab')}; "
                f"IBKR's open positions {_columns_needed('ibkr')}"
            )
        return ParsedImport(format=wanted, errors=[message])
    name, header = found
    problems = Problems()
    rows = LAYOUTS[name].read(records, header, options, problems)
    accounts = assemble(rows, options, problems)
    if not accounts and not problems.items:
        problems.add(records[header].line, "the file has a header but no lot or cash row")
    errors = problems.sorted()
    return ParsedImport(format=name, accounts=[] if errors else accounts, errors=errors)
