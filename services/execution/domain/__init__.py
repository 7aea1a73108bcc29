"""Pure domain of the execution service."""

from services.execution.domain.costs import CostModel
from services.execution.domain.paper_broker import fill_trade, order_id_for, validate_trade

__all__ = ["CostModel", "fill_trade", "order_id_for", "validate_trade"]
