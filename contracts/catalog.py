"""What travels on each subject: the message type of every command, event, public subject, timer and
query (with its reply). The AsyncAPI document is generated from this catalog; a test checks that it
covers every subject of :mod:`contracts.subjects`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from contracts import batches as b
from contracts import book as bk
from contracts import messages as m
from contracts import queries as q
from contracts import reconcile as r
from contracts import subjects as s
from contracts.values import AccountSnapshot

__all__ = ["CATALOG", "Channel"]

Kind = Literal["public", "command", "event", "timer", "query"]


@dataclass(frozen=True, slots=True)
class Channel:
    subject: str
    """The NATS subject (``*`` or ``>`` where a part varies: ``<run_id>.<step>``)."""
    message: Any
    kind: Kind
    summary: str
    publisher: str
    subscriber: str
    reply: Any = None
    """For a query: the ``result`` type of its ``{"ok", "result"}`` reply."""


def _failed(service: str) -> Channel:
    return Channel(
        s.step_failed(service), m.StepFailed, "event", f"{service} could not do a step", service, "coordinator"
    )


CATALOG: Final[tuple[Channel, ...]] = (
    Channel(
        s.REBALANCE_REQUESTED,
        m.RebalanceRequested,
        "public",
        "start a run (anyone may publish)",
        "gateway, any client",
        "coordinator",
    ),
    Channel(
        s.RUN_CANCEL_REQUESTED,
        m.RunCancelRequested,
        "public",
        "cancel a run before execute-trades",
        "gateway, any client",
        "coordinator",
    ),
    Channel(
        s.RUN_APPROVAL_DECIDED,
        m.RunApprovalDecided,
        "public",
        "approve or reject a run waiting at approval",
        "gateway, any client",
        "coordinator",
    ),
    Channel(
        s.TRADE_EXECUTED,
        m.TradeExecuted,
        "public",
        "one fill of a real (not simulated) trade",
        "execution",
        "any client",
    ),
    Channel(s.TRADE_REJECTED, m.TradeRejected, "public", "a trade the broker refused", "execution", "any client"),
    Channel(s.REPORT_GENERATED, m.ReportGenerated, "public", "a run's report", "coordinator", "any client"),
    Channel(s.RUN_COMPLETED, m.RunCompleted, "public", "a run finished", "coordinator", "any client"),
    Channel(s.RUN_FAILED, m.RunFailed, "public", "a run failed, naming the step", "coordinator", "any client"),
    Channel(s.PORTFOLIO_LOAD, m.LoadPortfolio, "command", "load-portfolio step", "coordinator", "portfolio"),
    Channel(s.PORTFOLIO_APPLY_FILLS, m.ApplyFills, "command", "update-portfolio step", "coordinator", "portfolio"),
    Channel(s.MARKET_DATA_FETCH, m.FetchMarketData, "command", "fetch-market-data step", "coordinator", "market_data"),
    Channel(
        s.ANALYSIS_ANALYZE, m.AnalyzeMarket, "command", "analyze-market-conditions step", "coordinator", "analysis"
    ),
    Channel(s.TAX_BUILD_CONTEXT, m.BuildTaxContext, "command", "tax-context step", "coordinator", "tax"),
    Channel(s.TAX_REVIEW_PLAN, m.ReviewPlan, "command", "tax-optimization step", "coordinator", "tax"),
    Channel(s.REBALANCING_PLAN, m.PlanRebalance, "command", "calculate-rebalancing step", "coordinator", "rebalancing"),
    Channel(s.EXECUTION_EXECUTE, m.ExecuteTrades, "command", "execute-trades step", "coordinator", "execution"),
    Channel(s.NOTIFICATIONS_NOTIFY, m.Notify, "command", "send-notifications step", "coordinator", "notifications"),
    Channel(
        s.PORTFOLIO_LOADED,
        m.PortfolioLoaded,
        "event",
        "account, lots, cash, target, household activity",
        "portfolio",
        "coordinator",
    ),
    Channel(
        s.PORTFOLIO_FILLS_APPLIED, m.FillsApplied, "event", "fills applied to the ledger", "portfolio", "coordinator"
    ),
    Channel(
        s.MARKET_DATA_FETCHED, m.MarketDataFetched, "event", "quotes as of the run's date", "market_data", "coordinator"
    ),
    Channel(s.ANALYSIS_ANALYZED, m.MarketAnalyzed, "event", "regime, risk, covariance", "analysis", "coordinator"),
    Channel(
        s.TAX_CONTEXT_BUILT,
        m.TaxContextBuilt,
        "event",
        "per-lot gains, rates, wash-sale restrictions",
        "tax",
        "coordinator",
    ),
    Channel(s.TAX_PLAN_REVIEWED, m.PlanReviewed, "event", "the plan's tax and wash-sale check", "tax", "coordinator"),
    Channel(
        s.REBALANCING_PLANNED, m.RebalancePlanned, "event", "drift and lot-level trades", "rebalancing", "coordinator"
    ),
    Channel(s.EXECUTION_EXECUTED, m.TradesExecuted, "event", "fills (or simulated fills)", "execution", "coordinator"),
    Channel(
        s.NOTIFICATIONS_NOTIFIED,
        m.Notified,
        "event",
        "channels notified and their errors",
        "notifications",
        "coordinator",
    ),
    *(_failed(service) for service in s.SERVICES),
    Channel(
        s.timer_fire("*", "*"),
        m.StepTimerFired,
        "timer",
        "a step's deadline or retry time (server-fired)",
        "nats-server (message schedules)",
        "coordinator",
    ),
    Channel(
        s.schedule_fire("*"),
        m.ScheduledRun,
        "timer",
        "a cron schedule's tick: one run",
        "nats-server (message schedules)",
        "coordinator",
    ),
    Channel(
        s.PORTFOLIO_QUERY_STATUS,
        q.AccountStatusQuery,
        "query",
        "an account's status and holdings",
        "gateway",
        "portfolio",
        q.AccountStatus,
    ),
    Channel(
        s.PORTFOLIO_QUERY_ACCOUNTS,
        q.AccountStatusQuery,
        "query",
        "an account as the run loads it",
        "gateway",
        "portfolio",
        AccountSnapshot,
    ),
    Channel(
        s.MARKET_DATA_QUERY_QUOTES,
        q.QuotesQuery,
        "query",
        "quotes as of a date",
        "analysis",
        "market_data",
        q.QuotesReply,
    ),
    Channel(
        s.MARKET_DATA_QUERY_HISTORY,
        q.HistoryQuery,
        "query",
        "daily history of symbols",
        "analysis",
        "market_data",
        q.HistoryReply,
    ),
    Channel(
        s.ANALYSIS_QUERY_MARKET,
        q.MarketAnalysisQuery,
        "query",
        "market conditions for a date",
        "gateway",
        "analysis",
        q.MarketAnalysisReply,
    ),
    Channel(
        s.ANALYSIS_QUERY_RISK, q.RiskQuery, "query", "risk metrics of weights", "gateway", "analysis", dict[str, Any]
    ),
    Channel(
        s.TAX_QUERY_REALIZED,
        q.RealizedQuery,
        "query",
        "realized gains of transactions",
        "gateway",
        "tax",
        dict[str, Any],
    ),
    Channel(
        s.PORTFOLIO_QUERY_BROKER_BOOK,
        r.BrokerBookQuery,
        "query",
        "the ledger's book of a broker account",
        "execution",
        "portfolio",
        list[r.LedgerBook],
    ),
    Channel(
        s.EXECUTION_QUERY_RECONCILE,
        r.ReconcileQuery,
        "query",
        "reconcile the ledger with the broker",
        "gateway",
        "execution",
        list[r.ReconcileReport],
    ),
    Channel(
        s.REBALANCE_BATCH_REQUESTED,
        b.BatchRequested,
        "public",
        "start a batch: one run per account",
        "gateway, any client",
        "coordinator",
    ),
    Channel(
        s.PORTFOLIO_QUERY_BOOK,
        q.BookQuery,
        "query",
        "the accounts of a batch (ids, a household or all)",
        "gateway",
        "portfolio",
        q.BookReply,
    ),
    Channel(
        s.PORTFOLIO_QUERY_LOTS,
        q.LedgerQuery,
        "query",
        "an account's open lots as the household ledger derives them",
        "gateway",
        "portfolio",
        q.AccountLots,
    ),
    Channel(
        s.PORTFOLIO_QUERY_TRANSACTIONS,
        q.LedgerQuery,
        "query",
        "every transaction of an account's household, as CSV",
        "gateway",
        "portfolio",
        q.LedgerDocument,
    ),
    Channel(
        s.PORTFOLIO_QUERY_FORM8949,
        q.LedgerQuery,
        "query",
        "an account's Form 8949 rows of a year, as CSV",
        "gateway",
        "portfolio",
        q.LedgerDocument,
    ),
    Channel(
        s.PORTFOLIO_QUERY_BOOK_OBJECT,
        bk.BookObjectQuery,
        "query",
        "one account, household or model as a document with its revision (the HTTP ETag)",
        "gateway",
        "portfolio",
        bk.BookObject,
    ),
    Channel(
        s.PORTFOLIO_QUERY_PUT_ACCOUNTS,
        bk.PutAccounts,
        "query",
        "write accounts, households and models at once: validated first, all or nothing, idempotent",
        "gateway",
        "portfolio",
        bk.PutAccountsReply,
    ),
    Channel(
        s.PORTFOLIO_QUERY_LOAD_BOOK,
        bk.LoadBook,
        "query",
        "apply a household file or a book (replace or merge)",
        "gateway",
        "portfolio",
        bk.PutAccountsReply,
    ),
    Channel(
        s.PORTFOLIO_QUERY_RECORD_TRANSACTION,
        bk.RecordTransaction,
        "query",
        "record an outside trade, a deposit or a withdrawal (idempotent by client transaction id)",
        "gateway",
        "portfolio",
        bk.TransactionRecorded,
    ),
    Channel(
        s.COORDINATOR_QUERY_SCHEDULES,
        q.ScheduleQuery,
        "query",
        "put, list or delete cron schedules of runs (the coordinator owns stream TIMERS)",
        "gateway",
        "coordinator",
        q.ScheduleReply,
    ),
)
