"""Execution handler: dry runs simulate; live runs go to the broker (sells first, then buys sized to the
cash raised), once per run however often the command is delivered. Reconciliation with the broker runs
after every trading run (once its fills are in the ledger) and on demand."""

from __future__ import annotations

from collections.abc import Sequence

from faststream.nats import NatsMessage

from contracts import (
    AccountSnapshot,
    ExecuteTrades,
    ExecutionResult,
    Fill,
    FillsApplied,
    ReconcileQuery,
    ReconcileReport,
    Trade,
    TradeExecuted,
    TradeRejected,
    TradesExecuted,
    decode_as,
    subjects,
)
from contracts.queries import AccountStatusQuery
from services.execution.block_desk import BlockDesk
from services.execution.brokers import BrokerAccounts, TradingRefusedError
from services.execution.domain import CostModel, fill_trade, validate_trade
from services.execution.domain.holdings import sells_beyond_holdings
from services.execution.order_records import record_fills
from services.execution.reconciliation import Reconciler
from services.execution.trading import OrderPolicy, trade_through
from shared.bus import kv as kvops
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError
from shared.holdings import shares_by_symbol
from shared.log import get_logger
from shared.money import ZERO

__all__ = ["ExecutionService"]

log = get_logger("execution")


async def _passthrough(message: NatsMessage, original: object = None) -> NatsMessage:
    return message


class ExecutionService:
    def __init__(self, runtime: ServiceRuntime, model: CostModel, brokers: BrokerAccounts, policy: OrderPolicy) -> None:
        self.runtime = runtime
        self.model = model
        self.brokers = brokers
        self.broker = brokers.default
        self.policy = policy
        self.reconciler = Reconciler(runtime, brokers)
        self.desk = BlockDesk(runtime, brokers, policy, self._events, self._rejected, self.reconciler.fills_applied)

    def register(self) -> None:
        self.runtime.command(subjects.EXECUTION_EXECUTE, ExecuteTrades, self.execute)
        self.runtime.query(subjects.EXECUTION_QUERY_RECONCILE, self.reconcile)

        async def on_fills_applied(message: NatsMessage) -> None:
            await self.after_fills_applied(message.body)

        self.runtime.broker.subscriber(
            subjects.PORTFOLIO_FILLS_APPLIED, queue="execution-reconcile", decoder=_passthrough
        )(on_fills_applied)
        self.runtime.on_shutdown(self.brokers.aclose)

    async def execute(self, command: ExecuteTrades) -> Sequence[Outgoing]:
        now = self.runtime.clock.now()
        executions = await self.runtime.kv(subjects.KV_EXECUTIONS)
        key = f"execution.{command.run_id}"
        # a dry run never stores its simulation: nothing to look up (one read less per account of a batch)
        stored = None if command.dry_run else (await kvops.read(executions, key, ExecutionResult))[0]
        if stored is not None:  # this run's orders were sent already: answer with what happened
            log.info("execution already recorded; not sending orders again")
            return self._events(command, stored, rejected=[])
        beyond = {} if command.dry_run else await self._sells_beyond_holdings(command)
        valid: list[Trade] = []
        errors: list[str] = []
        rejected: list[Outgoing] = []
        for trade in sorted(command.trades, key=lambda t: (t.action != "sell", t.trade_id)):
            try:
                validate_trade(trade, command.prices)
                if trade.trade_id in beyond:
                    raise InvalidInputError(beyond[trade.trade_id])
            except InvalidInputError as exc:
                errors.append(f"Failed to execute {trade.action} for {trade.symbol}: {exc.message}")
                rejected.append(self._rejected(command, trade, exc.message))
                continue
            valid.append(trade)
        if command.dry_run:
            fills = [
                fill_trade(
                    t, run_id=command.run_id, close=command.prices[t.symbol], model=self.model, at=now, simulated=True
                )
                for t in valid
            ]
            result = ExecutionResult(executed=False, dry_run=True, fills=fills, errors=errors, broker=self.broker.name)
            log.info("trades simulated", fills=len(fills), errors=len(errors))
            return self._events(command, result, rejected)
        broker_account = await self._may_trade(command)
        if command.block:  # the coordinator put the run in its batch's block orders
            await self.reconciler.mark_in_flight(broker_account, command.run_id)
            return await self.desk.join(command, refused=beyond, broker_account=broker_account)
        if valid:
            await self.reconciler.mark_in_flight(broker_account, command.run_id)
        broker = self.brokers.get(broker_account)
        outcome = await trade_through(broker, valid, command.prices, run_id=command.run_id, now=now, policy=self.policy)
        fills = await self._recorded(outcome.fills)
        for item in outcome.unfilled:
            if item.filled == 0 and item.status == "rejected":
                trade = next(t for t in valid if t.trade_id == item.trade_id)
                rejected.append(self._rejected(command, trade, item.reason))
        result = ExecutionResult(
            executed=bool(fills),
            dry_run=False,
            fills=fills,
            rejected=[o.msg_id for o in rejected],
            total_cost=sum((f.value for f in fills), ZERO),
            total_commission=sum((f.commission for f in fills), ZERO),
            errors=[*errors, *outcome.errors],
            unfilled=outcome.unfilled,
            broker=broker.name,
        )
        if await kvops.create(executions, key, result) is None:  # a concurrent delivery finished first
            stored, _ = await kvops.read(executions, key, ExecutionResult)
            result = stored or result
        if not result.executed:  # no fills to apply: nothing will come back from the ledger
            await self.reconciler.fills_applied(command.run_id)
        log.info("trades executed", fills=len(fills), unfilled=len(outcome.unfilled), errors=len(result.errors))
        return self._events(command, result, rejected)

    async def _sells_beyond_holdings(self, command: ExecuteTrades) -> dict[str, str]:
        """Ask the ledger (the portfolio service) what the account holds; the sells it cannot cover."""
        account = await request(
            self.runtime.broker,
            subjects.PORTFOLIO_QUERY_ACCOUNTS,
            AccountStatusQuery(account_id=command.account_id),
            AccountSnapshot,
        )
        return sells_beyond_holdings(command.trades, shares_by_symbol(account.lots))

    async def _may_trade(self, command: ExecuteTrades) -> str:
        """The account's broker account, once sure it may trade: no reconciliation break stands, and the
        market is open (unless configured to send orders while it is closed)."""
        broker_account = await self.reconciler.broker_account_of(command.account_id)
        standing = await self.reconciler.standing_break(broker_account)
        if standing is not None:
            raise TradingRefusedError(
                f"account {command.account_id} may not trade: reconciliation break on broker account "
                f"{broker_account} ({standing.message}); clear it with POST "
                f"/api/accounts/{command.account_id}/reconcile/clear"
            )
        if not self.runtime.settings.broker_trade_when_closed:
            clock = await self.brokers.get(broker_account).clock()
            if not clock.is_open:
                raise TradingRefusedError(
                    f"the market is closed (broker clock {clock.timestamp.isoformat()}, next open "
                    f"{clock.next_open.isoformat() if clock.next_open else 'unknown'}): no orders sent"
                )
        return broker_account

    async def _recorded(self, fills: list[Fill]) -> list[Fill]:
        """Each order's fill, written once under its order id (a concurrent delivery keeps the first)."""
        return await record_fills(await self.runtime.kv(subjects.KV_ORDERS), fills)

    def _rejected(self, command: ExecuteTrades, trade: Trade, reason: str) -> Outgoing:
        event = TradeRejected(
            run_id=command.run_id,
            message_id=f"{command.run_id}:{trade.trade_id}:rejected",
            occurred_at=self.runtime.clock.now(),
            step=command.step,
            attempt=command.attempt,
            account_id=command.account_id,
            trade=trade,
            reason=reason,
        )
        return Outgoing(subjects.TRADE_REJECTED, event, event.message_id)

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

    # ---- reconciliation ----------------------------------------------------------------------------
    async def reconcile(self, body: bytes) -> list[ReconcileReport]:
        query = decode_as(body, ReconcileQuery)
        return await self.reconciler.on_demand(query)

    async def after_fills_applied(self, body: bytes) -> None:
        """A run's fills are in the ledger: reconcile its broker account once no other run is in flight."""
        try:
            event = decode_as(body, FillsApplied)
            await self.reconciler.fills_applied(event.run_id)
        except Exception:  # the on-demand reconciliation remains; never lose the consumer
            log.exception("reconciliation after a run failed")
