"""What every layout reads a file into: records with their line numbers, the header's columns, and rows of
three kinds (a lot, cash, a position's total), each remembering its line; problems as (line, message)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from shared.custodian_import.cells import is_empty, parse_amount, parse_date
from shared.errors import InvalidInputError

__all__ = [
    "CashRow",
    "Cells",
    "Columns",
    "ImportOptions",
    "LotRow",
    "Problems",
    "Record",
    "Rows",
    "SummaryRow",
    "columns_of",
    "normalized",
    "read_records",
]


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: the line it starts on (1-based) and its cells."""

    line: int
    cells: tuple[str, ...]


def read_records(text: str) -> list[Record]:
    """Every non-blank record of ``text`` (a leading byte-order mark dropped), with its first line number
    (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    records: list[Record] = []
    last = 0
    try:
        for cells in reader:
            start, last = last + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                records.append(Record(line=start, cells=tuple(cells)))
    except csv.Error as exc:
        raise ValueError(f"line {reader.line_num}: not CSV ({exc})") from None
    return records


def normalized(name: str) -> str:
    """A column name compared without case, spaces or punctuation: ``Account ID``, ``account_id`` and
    ``accountId`` are one name."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


Columns = Mapping[str, int]
"""A layout's field name -> the index of its column in the header."""


def columns_of(header: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """The fields of ``aliases`` (field -> accepted normalized column names) found in ``header``."""
    found: dict[str, int] = {}
    names = [normalized(cell) for cell in header]
    for name, accepted in aliases.items():
        for index, cell in enumerate(names):
            if cell in accepted:
                found[name] = index
                break
    return found


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the caller says about a file: the account its rows belong to when the layout has no such column
    (a Schwab export is of one account), and the import's date (no lot acquired after it). The household of
    accounts the file does not place is the review's business (an existing account keeps its own)."""

    account_id: str | None = None
    as_of: date | None = None


@dataclass(frozen=True, slots=True)
class LotRow:
    line: int
    account_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date
    lot_id: str | None = None
    household_id: str | None = None
    account_type: str | None = None


@dataclass(frozen=True, slots=True)
class CashRow:
    line: int
    account_id: str
    amount: Decimal
    household_id: str | None = None
    account_type: str | None = None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """A custodian's total of one position (its lots must add up to it)."""

    line: int
    account_id: str
    symbol: str
    shares: Decimal


@dataclass
class Problems:
    """Every problem found, as (line, message)."""

    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.items.append((line, message))

    def sorted(self) -> list[str]:
        return [f"line {line}: {message}" for line, message in sorted(set(self.items))]


@dataclass
class Rows:
    lots: list[LotRow] = field(default_factory=list)
    cash: list[CashRow] = field(default_factory=list)
    summaries: list[SummaryRow] = field(default_factory=list)


class Cells:
    """The cells of one record, read by field name; each reader records its problem and returns ``None``."""

    def __init__(self, record: Record, columns: Columns, problems: Problems, header: Sequence[str] = ()) -> None:
        self.record = record
        self.header = header
        self.line = record.line
        self.columns = columns
        self.problems = problems
        self.failed = False

    def label(self, name: str) -> str:
        """The file's own name of the field's column (``Quantity``), else the field's name."""
        index = self.columns.get(name)
        if index is not None and index < len(self.header) and self.header[index].strip():
            return self.header[index].strip()
        return name

    def problem(self, name: str, message: str) -> None:
        self.failed = True
        self.problems.add(self.line, f"{self.label(name)}: {message}")

    def text(self, name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(self.record.cells):
            return ""
        return self.record.cells[index].strip()

    def has(self, name: str) -> bool:
        return not is_empty(self.text(name))

    def amount(self, name: str) -> Decimal | None:
        raw = self.text(name)
        if is_empty(raw):
            self.problem(name, "missing")
            return None
        try:
            return parse_amount(raw)
        except InvalidInputError as exc:
            self.problem(name, str(exc))
            return None

    def date(self, name: str, style: str) -> date | None:
        raw = self.text(name)
        if is_empty(raw):
            self.problem(name, "missing")
            return None
        try:
            return parse_date(raw, style)
        except InvalidInputError as exc:
            self.problem(name, str(exc))
            return None
