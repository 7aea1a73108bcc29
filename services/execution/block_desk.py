"""Block orders for a batch's live runs: one order per symbol and side for the whole batch, each run
getting its allocation of every block.

The coordinator decides which runs trade in a block (``ExecuteTrades.block``) and when the batch is ready
(``block_size``: every account of the batch has planned its trades, see
:mod:`services.coordinator.batch`):

* Each delivery of a block run's command leaves the run's trades under ``blockleg.<batch>.<run>`` (KV
  ``executions``; the first write is kept), with the sells the ledger cannot cover refused. While the
  batch is still planning (``block_size`` 0) the command is answered by nothing: the run waits at
  ``execute-trades`` (its deadline is the coordinator's ``BLOCK_WAIT_SECONDS``).
* A command with ``block_size`` N trades the block once N runs' trades are held: sells first, buys
  sized per account to the cash its sells raised (:mod:`services.execution.blocks`), client order ids
  from the batch's id (a retry, a second replica or a redelivery places nothing twice), each fill
  allocated back with the batch's rotation (``blockrot.<batch>``: a counter over the batches, so the
  remainder rule's tie-break moves on each batch). Every run's result is stored
  (``execution.<run>``) and published as its own; a later delivery is answered from what was stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal

import msgspec
from nats.js.kv import KeyValue

from contracts import DEFAULT_BROKER_ACCOUNT, ExecuteTrades, ExecutionResult, Trade, decode_as, subjects
from services.execution.blocks import BlockOutcome, trade_blocks
from services.execution.brokers import BrokerAccounts
from services.execution.domain import BlockLeg, validate_trade
from services.execution.order_records import record_fills
from services.execution.trading import OrderPolicy
from shared.bus import kv as kvops
from shared.bus.outgoing import Outgoing
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError
from shared.log import get_logger
from shared.money import ZERO

__all__ = ["BlockDesk", "BlockEntry"]

log = get_logger("execution.blocks")


class BlockEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One run's part of its batch's block: its command and the trades refused before any order."""

    command: ExecuteTrades
    refused: dict[str, str] = {}
    """Trade id → why it cannot be sent (a sell beyond the ledger's holdings)."""
    broker_account: str = DEFAULT_BROKER_ACCOUNT
    """The broker account the run's account trades through: one block per broker account."""


class _Counter(msgspec.Struct, frozen=True):
    number: int


def _next(counter: _Counter) -> _Counter:
    return _Counter(counter.number + 1)


class BlockDesk:
    def __init__(
        self,
        runtime: ServiceRuntime,
        brokers: BrokerAccounts,
        policy: OrderPolicy,
        events: Callable[[ExecuteTrades, ExecutionResult, list[Outgoing]], list[Outgoing]],
        rejected: Callable[[ExecuteTrades, Trade, str], Outgoing],
        nothing_to_apply: Callable[[str], Awaitable[object]],
    ) -> None:
        self.runtime = runtime
        self.brokers = brokers
        self.policy = policy
        self._events = events
        self._rejected = rejected
        self._nothing_to_apply = nothing_to_apply

    async def _kv(self) -> KeyValue:
        return await self.runtime.kv(subjects.KV_EXECUTIONS)

    async def join(
        self, command: ExecuteTrades, *, refused: dict[str, str], broker_account: str = DEFAULT_BROKER_ACCOUNT
    ) -> Sequence[Outgoing]:
        """Hold the run's trades; trade the block when the batch is ready and every run's trades are here."""
        kv = await self._kv()
        batch = command.batch_id
        entry = BlockEntry(command=command, refused=refused, broker_account=broker_account)
        await kvops.create(kv, f"blockleg.{batch}.{command.run_id}", entry)
        if command.block_size <= 0:
            log.info("run waits for its batch's block", batch=batch)
            return []
        held = await kvops.live_entries(kv, f"blockleg.{batch}.*")
        if len(held) < command.block_size:
            log.info("block not complete yet", batch=batch, held=len(held), size=command.block_size)
            return []
        entries = [decode_as(value, BlockEntry) for _, value in sorted(held.items())]
        return await self.trade(batch, entries, answering=command.run_id)

    async def _rotation(self, kv: KeyValue, batch: str) -> int:
        """The batch's number among the batches traded as blocks (the remainder rule's rotation)."""
        key = f"blockrot.{batch}"
        found, _ = await kvops.read(kv, key, _Counter)
        if found is not None:
            return found.number
        if await kvops.create(kv, "blockcounter", _Counter(1)) is not None:
            number = 1
        else:
            _previous, after = await kvops.update_with_retry(kv, "blockcounter", _Counter, _next)
            number = after.number if after is not None else 1
        if await kvops.create(kv, key, _Counter(number)) is None:  # another delivery numbered it first
            first, _ = await kvops.read(kv, key, _Counter)
            if first is not None:
                return first.number
        return number

    async def trade(self, batch: str, entries: list[BlockEntry], *, answering: str) -> list[Outgoing]:
        """Trade the block of ``entries``; ``answering``'s events are returned, the others published."""
        kv = await self._kv()
        commands = [e.command for e in entries]
        legs: dict[str, list[BlockLeg]] = {}
        errors: dict[str, list[str]] = {c.run_id: [] for c in commands}
        rejected: dict[str, list[Outgoing]] = {c.run_id: [] for c in commands}
        prices: dict[str, Decimal] = {}
        for entry in entries:
            command = entry.command
            for trade in command.trades:
                try:
                    price = validate_trade(trade, command.prices)
                    if trade.trade_id in entry.refused:
                        raise InvalidInputError(entry.refused[trade.trade_id])
                except InvalidInputError as exc:
                    errors[command.run_id].append(f"Failed to execute {trade.action} for {trade.symbol}: {exc.message}")
                    rejected[command.run_id].append(self._rejected(command, trade, exc.message))
                    continue
                prices.setdefault(trade.symbol, price)
                leg = BlockLeg(account_id=command.account_id, run_id=command.run_id, trade=trade)
                legs.setdefault(entry.broker_account, []).append(leg)
        rotation = await self._rotation(kv, batch)
        outcome = BlockOutcome()
        for broker_account, its_legs in sorted(legs.items()):  # one block per symbol and side per broker account
            traded = await trade_blocks(
                self.brokers.get(broker_account),
                its_legs,
                prices,
                block_id=batch if broker_account == DEFAULT_BROKER_ACCOUNT else f"{batch}.{broker_account}",
                rotation=rotation,
                policy=self.policy,
                now=self.runtime.clock.now(),
            )
            outcome.merge(traded)
            log.info("block traded", batch=batch, broker_account=broker_account, blocks=len(traded.blocks))
        out: list[Outgoing] = []
        orders = await self.runtime.kv(subjects.KV_ORDERS)
        for command in commands:
            fills = await record_fills(orders, outcome.fills.get(command.account_id, []))  # the ledger checks them
            unfilled = outcome.unfilled.get(command.account_id, [])
            result = ExecutionResult(
                executed=bool(fills),
                dry_run=False,
                fills=fills,
                rejected=[o.msg_id for o in rejected[command.run_id]],
                total_cost=sum((f.value for f in fills), ZERO),
                total_commission=sum((f.commission for f in fills), ZERO),
                errors=[
                    *errors[command.run_id],
                    *outcome.errors.get(command.account_id, []),
                    *(
                        f"{u.action} {u.symbol}: {u.filled} of {u.planned} shares filled ({u.status}): {u.reason}"
                        for u in unfilled
                    ),
                ],
                unfilled=unfilled,
                broker=f"{self.brokers.default.name} (block)",
            )
            if await kvops.create(kv, f"execution.{command.run_id}", result) is None:
                stored, _ = await kvops.read(kv, f"execution.{command.run_id}", ExecutionResult)
                result = stored or result
            if not result.executed:  # no fills: the ledger will not report back for this run
                await self._nothing_to_apply(command.run_id)
            events = self._events(command, result, rejected[command.run_id])
            if command.run_id == answering:
                out.extend(events)
            else:
                await self.runtime.publish_all(events)
        return out
