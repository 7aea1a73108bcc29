"""The command that starts each service step, built from the run's state.

Commands carry references, not copies (version 2 of each step message): the run (whose earlier step
outputs are stored under ``<run_id>.<step>`` in KV ``steps``) and the market snapshot. The receiving
service's runtime reads what its step needs (``shared.bus.step_inputs``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import (
    AnalyzeMarketV2,
    ApplyFillsV2,
    BuildTaxContextV2,
    Command,
    ExecuteTradesV2,
    FetchMarketData,
    LoadPortfolio,
    Notify,
    PlanOptions,
    PlanRebalanceV2,
    ReviewPlanV2,
    RunRecord,
    batch_of_source,
)
from shared.errors import InvalidInputError

__all__ = ["build_command"]


def build_command(
    record: RunRecord, step: str, attempt: int, now: datetime, *, block: bool = False, block_size: int = 0
) -> Command:
    """The command of ``step``; ``block``/``block_size``: the run trades in its batch's block orders (and
    how many runs the block holds, once the batch is planned: its own message id)."""
    common: dict[str, Any] = {
        "run_id": record.run_id,
        "message_id": f"{record.run_id}:{step}:{attempt}" + (f":block-{block_size}" if block_size else ""),
        "occurred_at": now,
        "step": step,
        "attempt": attempt,
    }
    request = record.request
    if step == "load-portfolio":
        return LoadPortfolio(
            **common, account_id=request.account_id, risk_override=request.risk_override, as_of=record.as_of
        )
    if step == "send-notifications":
        return _notify(record, common)
    if step == "fetch-market-data":  # no symbols: the snapshot of the whole security master on the date
        return FetchMarketData(**common, symbols=[], as_of=record.as_of)
    as_of = record.as_of
    if as_of is None or not record.snapshot_id:
        raise InvalidInputError(f"{step} needs the run's date and market snapshot")
    snapshot = record.snapshot_id
    if step == "analyze-market-conditions":
        return AnalyzeMarketV2(**common, as_of=as_of, snapshot_id=snapshot)
    if step == "tax-context":
        return BuildTaxContextV2(**common, as_of=as_of, snapshot_id=snapshot)
    if step == "calculate-rebalancing":
        options = PlanOptions(
            mode=request.mode,
            max_trade_amount=request.max_trade_amount,
            exclude_symbols=list(request.exclude_symbols),
            withdraw_amount=request.withdraw_amount,
            force=request.force_rebalance,
        )
        return PlanRebalanceV2(**common, as_of=as_of, snapshot_id=snapshot, options=options)
    if step == "tax-optimization":
        return ReviewPlanV2(**common, as_of=as_of)
    if step == "execute-trades":
        return ExecuteTradesV2(
            **common,
            account_id=request.account_id,
            as_of=as_of,
            snapshot_id=snapshot,
            dry_run=request.dry_run,
            batch_id=batch_of_source(record.source) or "",
            block=block,
            block_size=block_size if block else 0,
        )
    if step == "update-portfolio":
        return ApplyFillsV2(**common, account_id=request.account_id, as_of=as_of)
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
