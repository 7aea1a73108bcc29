"""The command that starts each service step, built from the run's state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from contracts import (
    AnalyzeMarket,
    BuildTaxContext,
    Command,
    ExecuteTrades,
    FetchMarketData,
    LoadPortfolio,
    Notify,
    PlanOptions,
    PlanRebalance,
    ReviewPlan,
    RunRecord,
)
from contracts import (
    ApplyFills as ApplyFillsCommand,
)
from shared.errors import InvalidInputError
from shared.holdings import values_by_symbol
from shared.securities import DEFAULT_BY_CLASS, SecurityMaster, UnknownSecurityError, default_securities

__all__ = ["build_command", "market_symbols", "prices_of", "weights_of"]


def market_symbols(record: RunRecord, securities: SecurityMaster | None = None) -> list[str]:
    """Held symbols, each class's default security, and harvest replacements of the held ones."""
    securities = securities or default_securities()
    held = set(record.account.symbols) if record.account else set()
    wanted = held | set(DEFAULT_BY_CLASS.values())
    for symbol in held:
        try:
            wanted |= {s.symbol for s in securities.replacements(symbol)}
        except UnknownSecurityError:
            continue
    return sorted(wanted)


def prices_of(record: RunRecord) -> dict[str, Decimal]:
    return {symbol: quote.close for symbol, quote in sorted(record.quotes.items())}


def weights_of(record: RunRecord) -> dict[str, Decimal]:
    """Weights of the invested value by symbol (cash excluded), from the run's prices."""
    if record.account is None:
        return {}
    prices = prices_of(record)
    values = values_by_symbol((lot for lot in record.account.lots if lot.symbol in prices), prices)
    total = sum(values.values(), Decimal(0))
    if total <= 0:
        return {}
    return {symbol: value / total for symbol, value in sorted(values.items())}


def build_command(record: RunRecord, step: str, attempt: int, now: datetime) -> Command:
    common: dict[str, Any] = {
        "run_id": record.run_id,
        "message_id": f"{record.run_id}:{step}:{attempt}",
        "occurred_at": now,
        "step": step,
        "attempt": attempt,
    }
    request = record.request
    account = record.account
    if step == "load-portfolio":
        return LoadPortfolio(
            **common, account_id=request.account_id, risk_override=request.risk_override, as_of=record.as_of
        )
    if step == "send-notifications":
        return _notify(record, common)
    if account is None:
        raise InvalidInputError(f"{step} needs the loaded account")
    as_of = record.as_of
    if step == "fetch-market-data":
        return FetchMarketData(**common, symbols=market_symbols(record), as_of=as_of)
    if as_of is None:
        raise InvalidInputError(f"{step} needs the run's date")
    if step == "analyze-market-conditions":
        return AnalyzeMarket(**common, as_of=as_of, weights=weights_of(record), universe=sorted(record.quotes))
    if step == "tax-context":
        return BuildTaxContext(
            **common,
            account=account,
            household_activity=record.household_activity,
            prices=prices_of(record),
            as_of=as_of,
        )
    if step == "calculate-rebalancing":
        options = PlanOptions(
            mode=request.mode,
            max_trade_amount=request.max_trade_amount,
            exclude_symbols=list(request.exclude_symbols),
            withdraw_amount=request.withdraw_amount,
            force=request.force_rebalance,
        )
        return PlanRebalance(
            **common,
            account=account,
            prices=prices_of(record),
            as_of=as_of,
            options=options,
            tax=record.tax_context,
            risk=record.risk,
        )
    if step == "tax-optimization":
        if record.tax_context is None or record.plan is None:
            raise InvalidInputError("tax-optimization needs the tax context and the plan")
        return ReviewPlan(
            **common,
            account=account,
            household_activity=record.household_activity,
            context=record.tax_context,
            plan=record.plan,
            as_of=as_of,
        )
    if step == "execute-trades":
        trades = record.plan.trades if record.plan else []
        return ExecuteTrades(
            **common,
            account_id=account.account_id,
            as_of=as_of,
            trades=trades,
            prices=prices_of(record),
            dry_run=request.dry_run,
        )
    if step == "update-portfolio":
        if record.execution is None:
            raise InvalidInputError("update-portfolio needs the execution result")
        return ApplyFillsCommand(
            **common,
            account_id=account.account_id,
            as_of=as_of,
            trades=record.plan.trades if record.plan else [],
            fills=[f for f in record.execution.fills if not f.simulated],
            review=record.review,
        )
    raise InvalidInputError(f"no command for step {step!r}")


def _notify(record: RunRecord, common: dict[str, Any]) -> Notify:
    report = record.report
    if record.status == "failed":
        message = (
            f"Portfolio rebalancing failed for account {record.request.account_id} at step "
            f"{record.failed_step}: {record.error}"
        )
        return Notify(**common, account_id=record.request.account_id, status="failed", message=message)
    executed = report is not None and report.execution.executed
    trades = len(report.execution.trades) if report else 0
    value = f"{report.portfolio_value:,.2f}" if report else "0.00"
    message = (
        f"Portfolio rebalancing {'completed' if executed else 'analyzed'} for account "
        f"{record.request.account_id}. Portfolio value: ${value}. {trades} trades executed."
    )
    return Notify(
        **common,
        account_id=record.request.account_id,
        status="completed",
        message=message,
        report=report,
    )
