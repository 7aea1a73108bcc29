"""Pure tax rules of the rebalancer: lots, lot relief, wash sales, realized gains, rates, harvesting.

No bus and no I/O except reading the shipped tax tables. The three facades the tax service calls are
:func:`build_tax_context`, :func:`evaluate_plan` and :func:`compute_realized`.
"""

from __future__ import annotations

from shared.lot_ledger.accounts import AccountPolicy, AccountType, LotMethod
from shared.lot_ledger.errors import TaxDomainError, TransactionError, UnknownTaxYearError
from shared.lot_ledger.ledger import WASH_WINDOW_DAYS, LedgerResult, replay
from shared.lot_ledger.lots import Lot
from shared.lot_ledger.relief import relief_order
from shared.lot_ledger.sales import Sale, WashMatch
from shared.lot_ledger.transactions import Action, Transaction, canonical_key, canonical_order
from shared.lot_ledger.transactions_csv import REQUIRED_COLUMNS, parse_transactions_csv

from .context import ContextTotals, RecentTransaction, TaxAccount, TaxContext, WashRisk, build_tax_context
from .harvest import (
    DO_NOT_BUY_DAYS,
    HarvestCandidate,
    HarvestThresholds,
    Restriction,
    do_not_buy_after,
    find_harvest_candidates,
    merge_restrictions,
)
from .netting import YearSummary, net_year, net_years
from .plan import (
    LotEffect,
    PlanEvaluation,
    ProposedBuy,
    ProposedSell,
    TaxOptimizationSummary,
    WashFinding,
    evaluate_plan,
)
from .positions import LotPosition, value_lots
from .rates import (
    MarginalRates,
    RateOverrides,
    TaxEstimate,
    TaxProfile,
    estimate_tax,
    marginal_rates,
    ordinary_tax,
)
from .realized import RealizedResult, compute_realized
from .tables import Bracket, FilingStatus, TaxTable, available_years, tax_table

__all__ = [
    "DO_NOT_BUY_DAYS",
    "REQUIRED_COLUMNS",
    "WASH_WINDOW_DAYS",
    "AccountPolicy",
    "AccountType",
    "Action",
    "Bracket",
    "ContextTotals",
    "FilingStatus",
    "HarvestCandidate",
    "HarvestThresholds",
    "LedgerResult",
    "Lot",
    "LotEffect",
    "LotMethod",
    "LotPosition",
    "MarginalRates",
    "PlanEvaluation",
    "ProposedBuy",
    "ProposedSell",
    "RateOverrides",
    "RealizedResult",
    "RecentTransaction",
    "Restriction",
    "Sale",
    "TaxAccount",
    "TaxContext",
    "TaxDomainError",
    "TaxEstimate",
    "TaxOptimizationSummary",
    "TaxProfile",
    "TaxTable",
    "Transaction",
    "TransactionError",
    "UnknownTaxYearError",
    "WashFinding",
    "WashMatch",
    "WashRisk",
    "YearSummary",
    "available_years",
    "build_tax_context",
    "canonical_key",
    "canonical_order",
    "compute_realized",
    "do_not_buy_after",
    "estimate_tax",
    "evaluate_plan",
    "find_harvest_candidates",
    "marginal_rates",
    "merge_restrictions",
    "net_year",
    "net_years",
    "ordinary_tax",
    "parse_transactions_csv",
    "relief_order",
    "replay",
    "tax_table",
    "value_lots",
]
