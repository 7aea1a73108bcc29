"""A book is many households (``{"households": [...]}``), each in the household format."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.portfolio.domain import DEFAULT_HOUSEHOLD_FILE, parse_book
from shared.errors import InvalidInputError
from shared.testing.book import generate_book, price_on


def _demo() -> dict[str, Any]:
    return json.loads(DEFAULT_HOUSEHOLD_FILE.read_text(encoding="utf-8"))


def test_a_generated_book_holds_households_of_one_to_four_accounts() -> None:
    book = parse_book(generate_book(25))
    assert len([s for _, states in book for s in states]) == 25
    assert all(1 <= len(states) <= 4 for _, states in book)
    for household, states in book:
        assert household.account_ids == [s.account.account_id for s in states]
        assert all(s.account.household_id == household.household_id for s in states)
    assert parse_book(generate_book(25)) == book  # the same book every time


def test_generated_lots_were_bought_at_the_shipped_closes_and_stand_at_gains_and_losses() -> None:
    book = generate_book(40)
    lots = [lot for h in book["households"] for a in h["accounts"] for lot in a["lots"]]
    gains = losses = 0
    for lot in lots:
        bought = price_on(lot["symbol"], date.fromisoformat(lot["acquired"]))
        assert Decimal(lot["cost_basis"]) == (bought * Decimal(lot["shares"])).quantize(Decimal("0.01"))
        now = price_on(lot["symbol"], date(2026, 5, 1))
        gains += now > bought
        losses += now < bought
    assert gains > 0 and losses > 0


def test_a_single_household_file_is_a_book_of_one() -> None:
    demo = _demo()
    (household, accounts), *rest = parse_book(demo)
    assert rest == [] and household.household_id == demo["household_id"] and len(accounts) == len(demo["accounts"])


def test_a_bad_field_in_a_book_names_its_household() -> None:
    demo = _demo()
    broken = json.loads(json.dumps(demo))
    broken["household_id"] = "other"
    broken["accounts"][0]["lots"][0]["shares"] = "-1"
    with pytest.raises(InvalidInputError, match=r"households\[1\]\.accounts\[0\]\.lots\[0\]\.shares"):
        parse_book({"households": [demo, broken]})


def test_an_id_twice_in_a_book_is_refused() -> None:
    demo = _demo()
    twice = json.loads(json.dumps(demo))
    twice["household_id"] = "other"
    with pytest.raises(InvalidInputError, match="account_id 'demo' appears more than once"):
        parse_book({"households": [demo, twice]})
    with pytest.raises(InvalidInputError, match="household_id 'demo-household' appears more than once"):
        parse_book({"households": [demo, demo]})
    with pytest.raises(InvalidInputError, match="households: expected a non-empty list"):
        parse_book({"households": []})
