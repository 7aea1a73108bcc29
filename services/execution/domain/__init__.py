"""Pure domain of the execution service."""

from services.execution.domain.allocation import allocate_block
from services.execution.domain.costs import CostModel
from services.execution.domain.paper_broker import fill_trade, order_id_for, validate_trade
from services.execution.domain.reconcile import CASH, differences
from services.execution.domain.sizing import cash_shortfall, size_buys

__all__ = [
    "CASH",
    "CostModel",
    "allocate_block",
    "cash_shortfall",
    "differences",
    "fill_trade",
    "order_id_for",
    "size_buys",
    "validate_trade",
]
