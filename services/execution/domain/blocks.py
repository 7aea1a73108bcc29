"""Block orders: the trades of many accounts aggregated into one order per symbol and side, and the
block's fill allocated back to the accounts (pure).

An account's share of the block's shares follows :func:`allocate_block` (pro rata, largest remainder,
a rotating tie-break). Every account's allocation is filled at the block's average price; the block's
fees are split pro rata to the shares allocated, in cents, the odd cents to the largest allocations (ties
by account id), so the accounts' fees sum exactly to the block's. Each account keeps its own fill (its own
order id, trade and lots), so its ledger and wash-sale history get exactly its allocation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from contracts import Action, Fill, Trade
from services.execution.domain.allocation import allocate_block
from services.execution.domain.paper_broker import order_id_for

__all__ = ["BlockLeg", "BlockOrder", "allocate_fill", "block_orders"]

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockLeg:
    """One account's trade inside a block."""

    account_id: str
    run_id: str
    trade: Trade


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockOrder:
    symbol: str
    side: Action
    legs: tuple[BlockLeg, ...]

    @property
    def qty(self) -> Decimal:
        return sum((leg.trade.shares for leg in self.legs), Decimal(0))

    @property
    def fractional(self) -> bool:
        return any(leg.trade.shares != leg.trade.shares.to_integral_value() for leg in self.legs)


def block_orders(legs: Sequence[BlockLeg]) -> list[BlockOrder]:
    """One block per (symbol, side): sells first, then buys, each by symbol; legs by account id."""
    grouped: dict[tuple[Action, str], list[BlockLeg]] = {}
    for leg in legs:
        members = grouped.setdefault((leg.trade.action, leg.trade.symbol), [])
        if any(m.account_id == leg.account_id for m in members):
            raise ValueError(f"account {leg.account_id} has two {leg.trade.action}s of {leg.trade.symbol}")
        members.append(leg)
    ordered = sorted(grouped.items(), key=lambda item: (item[0][0] != "sell", item[0][1]))
    return [
        BlockOrder(symbol=symbol, side=side, legs=tuple(sorted(members, key=lambda leg: leg.account_id)))
        for (side, symbol), members in ordered
    ]


def _fees(shares: Mapping[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    allocated = sum(shares.values(), Decimal(0))
    if allocated == 0 or total == 0:
        return {account: Decimal(0) for account in shares}
    fees = {a: (total * s / allocated).quantize(_CENT, rounding=ROUND_FLOOR) for a, s in shares.items()}
    left = int((total - sum(fees.values(), Decimal(0))) / _CENT)
    for account in sorted(shares, key=lambda a: (-shares[a], a))[:left]:
        fees[account] += _CENT
    return fees


def allocate_fill(
    block: BlockOrder,
    *,
    filled: Decimal,
    average_price: Decimal,
    fees: Decimal,
    rotation: int,
    broker_order_id: str,
    filled_at: datetime,
) -> dict[str, Fill | None]:
    """Each account's fill of the block (``None`` for an account allocated nothing)."""
    requested: dict[str, Decimal] = {}
    for leg in block.legs:
        requested[leg.account_id] = requested.get(leg.account_id, Decimal(0)) + leg.trade.shares
    shares = allocate_block(requested, filled, fractional=block.fractional, rotation=rotation)
    split = _fees(shares, fees)
    fills: dict[str, Fill | None] = {}
    for leg in block.legs:
        got = shares[leg.account_id]
        fills[leg.account_id] = (
            Fill(
                order_id=order_id_for(leg.run_id, leg.trade.trade_id),
                trade_id=leg.trade.trade_id,
                symbol=block.symbol,
                action=block.side,
                shares=got,
                price=average_price,
                commission=split[leg.account_id],
                value=got * average_price,
                filled_at=filled_at,
                broker_order_id=broker_order_id,
            )
            if got > 0
            else None
        )
    return fills
