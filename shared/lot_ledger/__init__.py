"""The household lot ledger: transactions replayed into lots, sales and wash-sale matches (IRC §1091).

One engine for every user: the tax service and ``rebalance tax realized`` (offline) and the portfolio
service (the live ledger, derived from the household's whole history) all call :func:`replay`.
"""

from __future__ import annotations

from .accounts import AccountPolicy, AccountType, LotMethod
from .errors import TaxDomainError, TransactionError, UnknownTaxYearError
from .form8949 import COVERED_SINCE, FORM_8949_COLUMNS, Form8949Row, form8949_csv, form8949_rows
from .ledger import WASH_WINDOW_DAYS, LedgerResult, replay
from .lots import Lot
from .relief import relief_order
from .sales import Sale, WashMatch
from .transactions import Action, Transaction, canonical_key, canonical_order
from .transactions_csv import REQUIRED_COLUMNS, parse_transactions_csv

__all__ = [
    "COVERED_SINCE",
    "FORM_8949_COLUMNS",
    "REQUIRED_COLUMNS",
    "WASH_WINDOW_DAYS",
    "AccountPolicy",
    "AccountType",
    "Action",
    "Form8949Row",
    "LedgerResult",
    "Lot",
    "LotMethod",
    "Sale",
    "TaxDomainError",
    "Transaction",
    "TransactionError",
    "UnknownTaxYearError",
    "WashMatch",
    "canonical_key",
    "canonical_order",
    "form8949_csv",
    "form8949_rows",
    "parse_transactions_csv",
    "relief_order",
    "replay",
]
