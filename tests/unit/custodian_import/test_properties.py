"""Properties: a file's accounts do not depend on the order of its rows, and the generic format reads back
what it wrote."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.imports import ImportedAccount, ImportedLot
from shared.custodian_import import ImportOptions, parse_import, write_generic

DATA = Path(__file__).parent / "data"


def _without_lines(accounts: list[ImportedAccount]) -> list[ImportedAccount]:
    return [
        msgspec.structs.replace(a, line=0, lots=[msgspec.structs.replace(lot, line=0) for lot in a.lots])
        for a in accounts
    ]


def _shuffled(text: str, header_lines: int, order: list[int]) -> str:
    lines = text.splitlines()
    head, body = lines[:header_lines], lines[header_lines:]
    return "\n".join([*head, *(body[i] for i in order)]) + "\n"


@st.composite
def _permutation(draw: st.DrawFn, n: int) -> list[int]:
    return draw(st.permutations(list(range(n))))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_row_order_does_not_matter(data: st.DataObject) -> None:
    for name, header_lines, options in (
        ("generic.csv", 1, ImportOptions()),
        ("schwab_lot_details.csv", 3, ImportOptions(account_id="s")),
        ("ibkr_open_positions.csv", 1, ImportOptions()),
    ):
        text = (DATA / name).read_text(encoding="utf-8")
        rows = len(text.splitlines()) - header_lines
        order = data.draw(_permutation(rows), label=name)
        first, second = (
            parse_import(text, options=options),
            parse_import(_shuffled(text, header_lines, order), options=options),
        )
        assert first.errors == second.errors == []
        assert _without_lines(second.accounts) == _without_lines(first.accounts)


def test_row_order_does_not_change_which_lines_are_bad() -> None:
    text = (DATA / "generic_with_errors.csv").read_text(encoding="utf-8")
    reordered = _shuffled(text, 1, [4, 3, 2, 1, 0])
    errors = parse_import(reordered).errors
    # the same problems, at the lines the rows moved to (row k moves to line 6 - k + 2)
    assert errors == [
        "line 2: account_id: missing",
        "line 3: shares: must be positive, got -3",
        "line 4: acquired: not a date YYYY-MM-DD ('2020-13-01')",
        "line 5: shares: not a number ('12,5x')",
    ]


_ids = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
_amounts = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=4)


@st.composite
def _account(draw: st.DrawFn, account_id: str) -> ImportedAccount:
    symbols = draw(st.lists(st.sampled_from(["VTI", "BND", "VEA", "BRK.B", "AGG"]), max_size=6))
    lots = []
    for index, symbol in enumerate(symbols):
        lots.append(
            ImportedLot(
                line=0,
                lot_id=f"{symbol}-{index}",
                symbol=symbol,
                shares=draw(_amounts),
                cost_basis=draw(st.decimals(min_value=0, max_value=Decimal("10000000"), places=2)),
                acquired=draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2026, 11, 30))),
            )
        )
    cash = draw(st.none() | st.decimals(min_value=0, max_value=Decimal("1000000"), places=2))
    if not lots and cash is None:
        cash = Decimal("0.00")
    return ImportedAccount(
        account_id=account_id,
        line=0,
        household_id=draw(st.none() | _ids),
        account_type=draw(st.none() | st.sampled_from(["taxable", "traditional_ira", "roth_ira"])),
        lots=sorted(lots, key=lambda lot: (lot.symbol, lot.acquired, lot.lot_id)),
        cash=cash,
    )


@st.composite
def _accounts(draw: st.DrawFn) -> list[ImportedAccount]:
    ids = sorted(draw(st.sets(_ids, min_size=1, max_size=4)))
    return [draw(_account(account_id)) for account_id in ids]


@settings(max_examples=60, deadline=None)
@given(_accounts())
def test_the_generic_format_reads_back_what_it_wrote(accounts: list[ImportedAccount]) -> None:
    parsed = parse_import(write_generic(accounts))
    assert parsed.errors == []
    assert parsed.format == "generic"
    assert _without_lines(parsed.accounts) == accounts
