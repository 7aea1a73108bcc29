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
from services.portfolio.domain.household_ledger import (
    account_ledger_lots,
    household_ledger,
    household_transactions,
    ledger_lot_view,
    transactions_csv,
    with_ledger_lots,
)
from services.portfolio.domain.ledger import LedgerUpdate, apply_fills
from services.portfolio.domain.models import MODELS, target_for
from services.portfolio.domain.realized import NOTHING_REALIZED, realized_by_run, without_run
from services.portfolio.domain.state import AccountState, HouseholdState, account_key, household_key
from services.portfolio.domain.valuation import allocation, holdings_value, total_value

__all__ = [
    "DEFAULT_HOUSEHOLD_FILE",
    "LOOKBACK_DAYS",
    "MODELS",
    "NOTHING_REALIZED",
    "AccountState",
    "Book",
    "HouseholdState",
    "LedgerUpdate",
    "account_key",
    "account_ledger_lots",
    "allocation",
    "apply_fills",
    "holdings_value",
    "household_activity",
    "household_key",
    "household_ledger",
    "household_transactions",
    "ledger_books",
    "ledger_lot_view",
    "load_book",
    "load_household",
    "parse_book",
    "parse_household",
    "realized_by_run",
    "target_for",
    "total_value",
    "transactions_csv",
    "with_ledger_lots",
    "without_run",
]
