"""Pure domain of the execution service."""

from services.execution.domain.allocation import allocate_block
from services.execution.domain.blocks import BlockLeg, BlockOrder, allocate_fill, block_orders
from services.execution.domain.costs import CostModel
from services.execution.domain.paper_broker import fill_trade, order_id_for, validate_trade
from services.execution.domain.reconcile import CASH, differences
from services.execution.domain.sizing import cash_shortfall, size_buys

__all__ = [
    "CASH",
    "BlockLeg",
    "BlockOrder",
    "CostModel",
    "allocate_block",
    "allocate_fill",
    "block_orders",
    "cash_shortfall",
    "differences",
    "fill_trade",
    "order_id_for",
    "size_buys",
    "validate_trade",
]
