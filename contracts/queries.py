"""Request-reply queries (core NATS, not stored). A reply is ``{"ok": true, "result": ...}`` or
``{"ok": false, "status": <HTTP-like code>, "error": "<what is wrong>"}``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

import msgspec

from contracts.messages import ScheduledRun
from contracts.values import MarketConditions, Quote, RebalanceRequest, Value

__all__ = [
    "AccountLots",
    "AccountStatus",
    "AccountStatusQuery",
    "BookQuery",
    "BookReply",
    "HistoryQuery",
    "HistoryReply",
    "LedgerDocument",
    "LedgerLot",
    "LedgerQuery",
    "MarketAnalysisQuery",
    "MarketAnalysisReply",
    "QueryReply",
    "QuotesQuery",
    "QuotesReply",
    "RealizedQuery",
    "RiskQuery",
    "ScheduleQuery",
    "ScheduleReply",
]


class QueryReply(Value, frozen=True, kw_only=True):
    ok: bool
    result: Any = None
    status: int = 200
    error: str = ""


class QuotesQuery(Value, frozen=True, kw_only=True):
    symbols: list[str]
    as_of: date | None = None


class QuotesReply(Value, frozen=True, kw_only=True):
    as_of: date
    quotes: dict[str, Quote]
    warnings: list[str] = msgspec.field(default_factory=list)


class HistoryQuery(Value, frozen=True, kw_only=True):
    """Adjusted closes (total return) of ``symbols`` and the named indices (VIX, IRX, TNX)."""

    symbols: list[str]
    start: date | None = None
    end: date | None = None
    indices: list[str] = msgspec.field(default_factory=list)
    lookback_days: int | None = None
    common_window: bool = True
    """``True``: the window is clamped to the dates every series covers. ``False``: the window is kept and
    each series has values only where it has data (``null`` before its first day)."""
    sessions: int | None = None
    """The look-back in trading days (:mod:`shared.market_window`): the reply holds the last ``sessions`` + 1
    trading days with data on or before ``end`` (``start`` and ``lookback_days`` are then not used)."""


class HistoryReply(Value, frozen=True, kw_only=True):
    dates: list[date]
    closes: dict[str, list[float | None]]
    indices: dict[str, list[float | None]] = msgspec.field(default_factory=dict)


class AccountStatusQuery(Value, frozen=True, kw_only=True):
    account_id: str
    as_of: date | None = None


class AccountStatus(Value, frozen=True, kw_only=True, rename="camel"):
    """The original workflow's portfolio status."""

    id: str
    account_id: str
    total_value: Decimal
    current_allocation: dict[str, Decimal]
    target_allocation: dict[str, Decimal]
    last_rebalanced: date | None
    risk_tolerance: str
    holdings_count: int
    cash: Decimal
    as_of: date
    account_type: str = "taxable"
    holdings: dict[str, Decimal] = msgspec.field(default_factory=dict)
    tenant: str = "default"


class MarketAnalysisQuery(Value, frozen=True, kw_only=True):
    as_of: date | None = None


class MarketAnalysisReply(Value, frozen=True, kw_only=True):
    conditions: MarketConditions


class RiskQuery(Value, frozen=True, kw_only=True):
    weights: dict[str, Decimal]
    as_of: date | None = None
    after_weights: dict[str, Decimal] | None = None
    lookback_days: int = 756
    """Trading days (daily returns) of the window, ending on the last trading day with data on or before
    ``as_of`` (:mod:`shared.market_window`)."""


class RealizedQuery(Value, frozen=True, kw_only=True):
    """Transactions as the CLI's CSV rows (strings), for ``POST /api/tax/realized``."""

    transactions: list[dict[str, str]]
    method: str = "fifo"
    filing_status: str = "single"


class BookQuery(Value, frozen=True, kw_only=True):
    """Which accounts of the book a batch names: ``account_ids``, a household's, or all of them (``all``)."""

    account_ids: list[str] = msgspec.field(default_factory=list)
    household_id: str | None = None
    all: bool = False
    tenant: str | None = None
    """Only this tenant's accounts (the caller's API key); another tenant's are unknown. None: every tenant."""


class BookReply(Value, frozen=True, kw_only=True):
    """The accounts found, in the order asked (a household's in its file order, all of them sorted), and
    the ids asked for that the book does not hold."""

    account_ids: list[str]
    unknown: list[str] = msgspec.field(default_factory=list)


class LedgerQuery(Value, frozen=True, kw_only=True):
    """The live ledger of ``account_id`` (its lots; its household's transactions; its Form 8949 rows of
    ``year``, every year when None)."""

    account_id: str
    year: int | None = None


class LedgerLot(Value, frozen=True, kw_only=True, rename="camel"):
    """An open lot as the ledger derives it. ``cost_basis`` is the total adjusted basis in dollars
    (cost plus ``wash_sale_adjustment``); ``holding_period_start`` is after tacking."""

    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date
    holding_period_start: date
    wash_sale_adjustment: Decimal


class AccountLots(Value, frozen=True, kw_only=True, rename="camel"):
    account_id: str
    lots: list[LedgerLot]


class LedgerDocument(Value, frozen=True, kw_only=True):
    """A CSV document (transactions or Form 8949) and the file name to offer."""

    filename: str
    text: str


class ScheduleQuery(Value, frozen=True, kw_only=True):
    """Keep cron schedules (``coordinator.v1.query.schedules``, answered by the coordinator, which owns the
    TIMERS stream: the gateway never writes to it). ``put`` creates or replaces ``name``; ``delete`` removes
    it; ``list`` returns them all."""

    action: Literal["put", "delete", "list"]
    name: str = ""
    cron: str = ""
    request: RebalanceRequest | None = None
    created_by: str = ""


class ScheduleReply(Value, frozen=True, kw_only=True):
    schedules: list[ScheduledRun] = msgspec.field(default_factory=list)
    """``put``: the schedule stored; ``list``: every schedule; ``delete``: the one removed (none: unknown)."""
