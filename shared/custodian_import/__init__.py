"""Custodian lot files to accounts: pure parsers of the generic format, Schwab's "Unrealized Gain/Loss -
Lot Details" export and Interactive Brokers' Flex "Open Positions" with lots (no I/O, Decimal throughout).

``parse_import(text, format, options)`` returns the accounts (each lot with its line number) or every
problem found, each as ``line 14: shares: not a number ('12,5x')``. It imports no service."""

from shared.custodian_import.cells import parse_amount, parse_date
from shared.custodian_import.parse import FORMATS, ParsedImport, detect_format, parse_import
from shared.custodian_import.rows import ImportOptions
from shared.custodian_import.writer import GENERIC_COLUMNS, write_generic

__all__ = [
    "FORMATS",
    "GENERIC_COLUMNS",
    "ImportOptions",
    "ParsedImport",
    "detect_format",
    "parse_amount",
    "parse_date",
    "parse_import",
    "write_generic",
]
