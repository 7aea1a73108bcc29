"""Block orders for a batch's live runs: the runs that reach ``execute-trades`` within one window trade
together, one order per symbol and side, and each run gets its allocation of every block.

* A run joins the batch's open window (KV ``executions``, key ``blockwin.<batch>``, compare-and-set) and
  leaves its trades under ``blockleg.<batch>.<window>.<run>``; its command is acknowledged at once.
* The run that opens a window closes it ``BLOCK_WINDOW_SECONDS`` later: the window is marked closed, the
  blocks are sent (client order ids from the batch and window, so a retry places nothing twice), each
  block's fill is allocated back (``services.execution.domain.blocks``; the window's number is the
  rotation of the remainder rule), and every run's result is stored and published as its own.
* A run whose result is late (the closing process died) is answered when the coordinator sends its
  command again after the step's deadline: that delivery closes the overdue window itself.
Runs of a batch paced over several windows (``BATCH_MAX_IN_FLIGHT``) trade as one block per window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import msgspec
from nats.js.kv import KeyValue

from contracts import ExecuteTrades, ExecutionResult, Trade, encode, subjects
from services.execution.blocks import trade_blocks
from services.execution.brokers import Broker
from services.execution.domain import BlockLeg, validate_trade
from services.execution.order_records import record_fills
from services.execution.trading import OrderPolicy
from shared.bus import kv as kvops
from shared.bus.outgoing import Outgoing
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError
from shared.log import get_logger
from shared.money import ZERO

__all__ = ["BlockDesk", "BlockWindow"]

log = get_logger("execution.blocks")


class BlockWindow(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    deadline: datetime
    runs: list[str]
    closed: bool = False


class BlockDesk:
    def __init__(
        self,
        runtime: ServiceRuntime,
        broker: Broker,
        policy: OrderPolicy,
        events: Callable[[ExecuteTrades, ExecutionResult, list[Outgoing]], list[Outgoing]],
        rejected: Callable[[ExecuteTrades, Trade, str], Outgoing],
        nothing_to_apply: Callable[[str], Awaitable[object]],
    ) -> None:
        self.runtime = runtime
        self.broker = broker
        self.policy = policy
        self._events = events
        self._rejected = rejected
        self._nothing_to_apply = nothing_to_apply
        self.window = timedelta(seconds=runtime.settings.block_window_seconds)
        self._closers: set[asyncio.Task[None]] = set()
        runtime.on_shutdown(self._stop)

    async def _stop(self) -> None:
        for task in list(self._closers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _kv(self) -> KeyValue:
        return await self.runtime.kv(subjects.KV_EXECUTIONS)

    async def join(self, command: ExecuteTrades) -> Sequence[Outgoing]:
        """Put the run in its batch's open window; answers now only when an overdue window is closed."""
        kv = await self._kv()
        now = self.runtime.clock.now()
        key = f"blockwin.{command.batch_id}"
        opened = False

        def enter(window: BlockWindow) -> BlockWindow | None:
            nonlocal opened
            if command.run_id in window.runs:
                return None
            if window.closed:
                opened = True
                return BlockWindow(number=window.number + 1, deadline=now + self.window, runs=[command.run_id])
            return msgspec.structs.replace(window, runs=[*window.runs, command.run_id])

        if await kvops.create(kv, key, BlockWindow(number=1, deadline=now + self.window, runs=[command.run_id])):
            opened = True
            window = BlockWindow(number=1, deadline=now + self.window, runs=[command.run_id])
        else:
            before, after = await kvops.update_with_retry(kv, key, BlockWindow, enter)
            window = after or before
        await kv.put(f"blockleg.{command.batch_id}.{window.number}.{command.run_id}", encode(command))
        log.info("run joined a block window", batch=command.batch_id, window=window.number, runs=len(window.runs))
        if opened:
            task = asyncio.create_task(self._close_later(command.batch_id, window.number))
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)
            return []
        if not window.closed and window.deadline < now and command.run_id in window.runs:
            return await self.close(command.batch_id, window.number, answering=command.run_id)
        return []

    async def _close_later(self, batch_id: str, number: int) -> None:
        await asyncio.sleep(self.window.total_seconds())
        try:
            outgoing = await self.close(batch_id, number)
            await self.runtime.publish_all(outgoing)
        except Exception:  # the runs' next delivery (after their step deadline) closes it
            log.exception("block window not closed", batch=batch_id, window=number)

    async def close(self, batch_id: str, number: int, *, answering: str | None = None) -> list[Outgoing]:
        """Trade window ``number`` of ``batch_id``; the results of its runs (only ``answering``'s when a
        delivery of that run closes it; the others are published here)."""
        kv = await self._kv()

        def shut(window: BlockWindow) -> BlockWindow | None:
            return None if window.closed or window.number != number else msgspec.structs.replace(window, closed=True)

        changed = await kvops.update_with_retry(kv, f"blockwin.{batch_id}", BlockWindow, shut)
        after = changed[1]
        if after is None:
            return []  # closed already (by another replica or delivery)
        commands = []
        for run_id in after.runs:
            leg, _ = await kvops.read(kv, f"blockleg.{batch_id}.{number}.{run_id}", ExecuteTrades)
            if leg is not None:
                commands.append(leg)
        legs: list[BlockLeg] = []
        errors: dict[str, list[str]] = {c.run_id: [] for c in commands}
        rejected: dict[str, list[Outgoing]] = {c.run_id: [] for c in commands}
        prices: dict[str, Decimal] = {}
        for command in commands:
            for trade in command.trades:
                try:
                    prices[trade.symbol] = validate_trade(trade, command.prices)
                except InvalidInputError as exc:
                    errors[command.run_id].append(f"Failed to execute {trade.action} for {trade.symbol}: {exc.message}")
                    rejected[command.run_id].append(self._rejected(command, trade, exc.message))
                    continue
                legs.append(BlockLeg(account_id=command.account_id, run_id=command.run_id, trade=trade))
        outcome = await trade_blocks(
            self.broker,
            legs,
            prices,
            block_id=f"{batch_id}.w{number}",
            rotation=number,
            policy=self.policy,
            now=self.runtime.clock.now(),
        )
        log.info("block window traded", batch=batch_id, window=number, blocks=len(outcome.blocks), runs=len(commands))
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
                broker=f"{self.broker.name} (block)",
            )
            if await kvops.create(kv, f"execution.{command.run_id}", result) is None:
                stored, _ = await kvops.read(kv, f"execution.{command.run_id}", ExecutionResult)
                result = stored or result
            if not result.executed:  # no fills: the ledger will not report back for this run
                await self._nothing_to_apply(command.run_id)
            events = self._events(command, result, rejected[command.run_id])
            if answering is None or command.run_id == answering:
                out.extend(events)
            else:
                await self.runtime.publish_all(events)
        return out
