"""Each layout's sample file reads to the accounts it holds, to the cent; every bad row is reported."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from shared.custodian_import import ImportOptions, parse_amount, parse_date, parse_import
from shared.errors import InvalidInputError

DATA = Path(__file__).parent / "data"


def _read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _lots(account) -> list[tuple[str, str, Decimal, Decimal, date]]:  # type: ignore[no-untyped-def]
    return [(lot.lot_id, lot.symbol, lot.shares, lot.cost_basis, lot.acquired) for lot in account.lots]


def test_generic_file() -> None:
    parsed = parse_import(_read("generic.csv"))
    assert parsed.errors == []
    assert parsed.format == "generic"
    ira, taxable = parsed.accounts
    assert (taxable.account_id, taxable.household_id, taxable.account_type) == ("imp-taxable", "imp-house", "taxable")
    assert taxable.cash == Decimal("4000.00")  # two cash rows add up
    assert _lots(taxable) == [
        ("BND-20190603-1", "BND", Decimal(120), Decimal("8640.00"), date(2019, 6, 3)),
        ("VEA-20201102-1", "VEA", Decimal(150), Decimal("6900.00"), date(2020, 11, 2)),
        ("vti-a", "VTI", Decimal(60), Decimal("12531.00"), date(2021, 3, 15)),
        ("VTI-20251201-1", "VTI", Decimal(40), Decimal("13386.40"), date(2025, 12, 1)),  # 40 x 334.66
    ]
    assert [lot.line for lot in taxable.lots] == [4, 5, 2, 3]
    assert (ira.account_type, ira.cash, _lots(ira)[0][1]) == ("traditional_ira", Decimal("0.00"), "AGG")


def test_schwab_lot_details() -> None:
    parsed = parse_import(_read("schwab_lot_details.csv"), options=ImportOptions(account_id="sch-1"))
    assert parsed.errors == []
    assert parsed.format == "schwab"
    (account,) = parsed.accounts
    assert (account.account_id, account.household_id) == ("sch-1", None)  # the caller places it
    # cash and the money-market fund at market value; the footer and the VTI total row are not lots
    assert account.cash == Decimal("1250.55") + Decimal("2749.45")
    assert _lots(account) == [
        ("BND-20190603-1", "BND", Decimal(200), Decimal("15600.00"), date(2019, 6, 3)),
        ("VNQ-20220110-1", "VNQ", Decimal(50), Decimal("5055.00"), date(2022, 1, 10)),  # 50 x $101.10
        ("VTI-20210315-1", "VTI", Decimal(60), Decimal("12531.00"), date(2021, 3, 15)),
        ("VTI-20251201-1", "VTI", Decimal(40), Decimal("13386.40"), date(2025, 12, 1)),
    ]


def test_schwab_needs_an_account_id() -> None:
    parsed = parse_import(_read("schwab_lot_details.csv"))
    assert parsed.accounts == []
    assert parsed.errors == ["line 1: account: a Schwab export names no account id; give one (--account)"]


def test_schwab_position_total_must_match_its_lots() -> None:
    text = _read("schwab_lot_details.csv").replace('"12/01/2025","40"', '"12/01/2025","30"')
    parsed = parse_import(text, options=ImportOptions(account_id="sch-1"))
    assert parsed.errors == [
        "line 4: quantity: the lots of VTI add up to 90 shares, the position's total says 100",
    ]


def test_ibkr_open_positions() -> None:
    parsed = parse_import(_read("ibkr_open_positions.csv"))
    assert parsed.errors == []
    assert parsed.format == "ibkr"
    first, second = parsed.accounts
    assert (first.account_id, first.household_id, first.cash) == ("U1234567", None, Decimal("3210.55"))
    assert _lots(first) == [
        ("BND-20210607-1", "BND", Decimal(80), Decimal(6000), date(2021, 6, 7)),
        ("VTI-20200315-1", "VTI", Decimal(10), Decimal(2500), date(2020, 3, 15)),
        ("VTI-20251201-1", "VTI", Decimal(15), Decimal(5000), date(2025, 12, 1)),
    ]
    assert (second.account_id, second.cash, len(second.lots)) == ("U7654321", None, 1)


def test_ibkr_trailers_and_other_currencies() -> None:
    lines = _read("ibkr_open_positions.csv").splitlines()
    text = "\n".join(
        [
            lines[0],
            '"BOA","U1234567"',
            lines[2],
            '"U1234567","EUR","STK","SAP","SAP SE","5","120","600","100","500","20230101","","LOT"',
            '"U1234567","USD","CASH","EUR","EUR CASH","100","1","100","","","","","SUMMARY"',
            '"U1234567","USD","STK","VTI","VANGUARD","-5","330","-1650","300","-1500","20240101","","LOT"',
            lines[0],
            '"EOA","U1234567"',
        ]
    )
    parsed = parse_import(text)
    assert parsed.errors == [
        "line 4: CurrencyPrimary: EUR: only USD positions are supported",
        "line 5: Symbol: cash in EUR: only USD cash is supported",
        "line 6: cost_basis: must not be negative, got -1500",
        "line 6: shares: must be positive, got -5",
    ]


def test_every_bad_row_is_reported_with_its_line() -> None:
    parsed = parse_import(_read("generic_with_errors.csv"))
    assert parsed.accounts == []
    assert parsed.errors == [
        "line 3: shares: not a number ('12,5x')",
        "line 4: acquired: not a date YYYY-MM-DD ('2020-13-01')",
        "line 5: shares: must be positive, got -3",
        "line 6: account_id: missing",
    ]


def test_duplicate_lot_ids_name_both_lines() -> None:
    text = "account_id,symbol,shares,cost_basis,acquired,lot_id\na,VTI,1,10,2020-01-02,x\na,BND,2,10,2020-01-02,x\n"
    assert parse_import(text).errors == ["line 3: lot_id: 'x' appears twice in account a (also line 2)"]


def test_a_lot_acquired_after_the_import_date_is_refused() -> None:
    text = "account_id,symbol,shares,cost_basis,acquired\na,VTI,1,10,2026-12-01\n"
    parsed = parse_import(text, options=ImportOptions(as_of=date(2026, 11, 30)))
    assert parsed.errors == ["line 2: acquired: 2026-12-01 is after the import's date 2026-11-30"]


def test_an_account_in_two_households_is_refused() -> None:
    text = (
        "account_id,household_id,symbol,shares,cost_basis,acquired\n"
        "a,h1,VTI,1,10,2020-01-02\na,h2,BND,1,10,2020-01-02\n"
    )
    assert parse_import(text).errors == ["line 3: household_id: account a is 'h2' here and 'h1' on line 2"]


def test_unknown_header_and_forced_format() -> None:
    assert parse_import("a,b,c\n1,2,3\n").errors[0].startswith("line 1: no known header found")
    assert parse_import(_read("generic.csv"), "ibkr").errors[0].startswith("line 1: no ibkr header found")
    assert parse_import("").errors == ["line 1: the file is empty"]
    assert parse_import("account_id,symbol,shares,cost_basis,acquired\n").errors == [
        "line 1: the file has a header but no lot or cash row"
    ]


def test_a_quoted_cell_spanning_lines_keeps_later_line_numbers_right() -> None:
    text = (
        'account_id,symbol,shares,cost_basis,acquired,lot_id\na,VTI,1,10,2020-01-02,"x\ny"\na,BND,zz,10,2020-01-02,\n'
    )
    assert parse_import(text).errors == [
        "line 2: lot_id: 'x\\ny': letters, digits, '.', ':', '-' or '_' (at most 128)",
        "line 4: shares: not a number ('zz')",
    ]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1234.56", "1234.56"),
        ("$1,234.56", "1234.56"),
        ("(12.50)", "-12.50"),
        ("($1,000)", "-1000"),
        ("-$3.10", "-3.10"),
        ("$-3.10", "-3.10"),
        (" +7 ", "7"),
        ("1,000,000", "1000000"),
        (".5", "0.5"),
    ],
)
def test_amounts(raw: str, value: str) -> None:
    assert parse_amount(raw) == Decimal(value)
    assert str(parse_amount(raw)) == value


@pytest.mark.parametrize("raw", ["12,5x", "12,5", "1,00", "1.2.3", "$$5", "--5", "abc", "1e5", "NaN", "(5", ""])
def test_not_amounts(raw: str) -> None:
    with pytest.raises(InvalidInputError, match="not a number"):
        parse_amount(raw)


def test_dates() -> None:
    assert parse_date("03/15/2021", "us") == date(2021, 3, 15)
    assert parse_date("20210315;103000", "ibkr") == date(2021, 3, 15)
    assert parse_date("2021-03-15, 10:30:00", "ibkr") == date(2021, 3, 15)
    assert parse_date("2021-03-15", "iso") == date(2021, 3, 15)
    with pytest.raises(InvalidInputError, match="MM/DD/YYYY"):
        parse_date("2021-03-15", "us")
