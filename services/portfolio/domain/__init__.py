"""Pure domain of the portfolio service."""

from services.portfolio.domain.activity import LOOKBACK_DAYS, household_activity
from services.portfolio.domain.broker_book import ledger_books
from services.portfolio.domain.household import (
    DEFAULT_HOUSEHOLD_FILE,
    Book,
    load_book,
    load_household,
    parse_book,
    parse_household,
)
from services.portfolio.domain.ledger import LedgerUpdate, apply_fills, apply_wash_adjustment
from services.portfolio.domain.models import MODELS, target_for
from services.portfolio.domain.state import AccountState, HouseholdState, account_key, household_key
from services.portfolio.domain.valuation import allocation, holdings_value, total_value

__all__ = [
    "DEFAULT_HOUSEHOLD_FILE",
    "LOOKBACK_DAYS",
    "MODELS",
    "AccountState",
    "Book",
    "HouseholdState",
    "LedgerUpdate",
    "account_key",
    "allocation",
    "apply_fills",
    "apply_wash_adjustment",
    "holdings_value",
    "household_activity",
    "household_key",
    "ledger_books",
    "load_book",
    "load_household",
    "parse_book",
    "parse_household",
    "target_for",
    "total_value",
]
