"""Execution handler: dry runs simulate; real runs send sells first, then buys, one order per trade."""

from __future__ import annotations

from collections.abc import Sequence

from contracts import (
    ExecuteTrades,
    ExecutionResult,
    Fill,
    TradeExecuted,
    TradeRejected,
    TradesExecuted,
    subjects,
)
from services.execution.domain import CostModel, fill_trade, order_id_for, validate_trade
from shared.bus import kv as kvops
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError
from shared.log import get_logger
from shared.money import ZERO

__all__ = ["ExecutionService"]

log = get_logger("execution")


class ExecutionService:
    def __init__(self, runtime: ServiceRuntime, model: CostModel) -> None:
        self.runtime = runtime
        self.model = model

    def register(self) -> None:
        self.runtime.command(subjects.EXECUTION_EXECUTE, ExecuteTrades, self.execute)

    async def execute(self, command: ExecuteTrades) -> Sequence[Outgoing]:
        now = self.runtime.clock.now()
        executions = await self.runtime.kv(subjects.KV_EXECUTIONS)
        key = f"execution.{command.run_id}"
        stored, _ = await kvops.read(executions, key, ExecutionResult)
        if stored is not None:  # this run's orders were sent already: answer with what happened
            log.info("execution already recorded; not sending orders again")
            return self._events(command, stored, rejected=[])
        ordered = sorted(command.trades, key=lambda t: (t.action != "sell", t.trade_id))
        fills: list[Fill] = []
        errors: list[str] = []
        rejected: list[Outgoing] = []
        orders = await self.runtime.kv(subjects.KV_ORDERS)
        for trade in ordered:
            try:
                close = validate_trade(trade, command.prices)
            except InvalidInputError as exc:
                errors.append(f"Failed to execute {trade.action} for {trade.symbol}: {exc.message}")
                event = TradeRejected(
                    run_id=command.run_id,
                    message_id=f"{command.run_id}:{trade.trade_id}:rejected",
                    occurred_at=now,
                    step=command.step,
                    attempt=command.attempt,
                    account_id=command.account_id,
                    trade=trade,
                    reason=exc.message,
                )
                rejected.append(Outgoing(subjects.TRADE_REJECTED, event, event.message_id))
                continue
            fill = fill_trade(
                trade, run_id=command.run_id, close=close, model=self.model, at=now, simulated=command.dry_run
            )
            if not command.dry_run:
                order_key = f"order.{order_id_for(command.run_id, trade.trade_id)}"
                if await kvops.create(orders, order_key, fill) is None:  # sent before a crash: reuse it
                    existing, _ = await kvops.read(orders, order_key, Fill)
                    fill = existing or fill
            fills.append(fill)
        result = ExecutionResult(
            executed=not command.dry_run and bool(fills),
            dry_run=command.dry_run,
            fills=fills,
            rejected=[o.msg_id for o in rejected],
            total_cost=sum((f.value for f in fills if not f.simulated), ZERO),
            total_commission=sum((f.commission for f in fills if not f.simulated), ZERO),
            errors=errors,
        )
        if not command.dry_run:
            await kvops.create(executions, key, result)
        log.info(
            "trades executed" if not command.dry_run else "trades simulated",
            fills=len(fills),
            errors=len(errors),
        )
        return self._events(command, result, rejected)

    def _events(self, command: ExecuteTrades, result: ExecutionResult, rejected: list[Outgoing]) -> list[Outgoing]:
        now = self.runtime.clock.now()
        executed = TradesExecuted(**result_envelope(command, now), account_id=command.account_id, result=result)
        out = [Outgoing(subjects.EXECUTION_EXECUTED, executed, executed.message_id), *rejected]
        for fill in result.fills:
            if fill.simulated:
                continue
            event = TradeExecuted(
                run_id=command.run_id,
                message_id=f"{fill.order_id}:executed",
                occurred_at=fill.filled_at,
                step=command.step,
                attempt=command.attempt,
                account_id=command.account_id,
                fill=fill,
            )
            out.append(Outgoing(subjects.TRADE_EXECUTED, event, event.message_id))
        return out
