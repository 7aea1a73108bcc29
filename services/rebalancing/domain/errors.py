"""Errors of the rebalancing domain: the ``PlanningError`` branch of the one error tree, drawn in
:mod:`shared.errors`."""

from __future__ import annotations

from shared.errors import InvalidInputError

__all__ = ["InvalidAccountError", "InvalidOptionsError", "MissingPriceError", "PlanningError", "WithdrawalError"]


class PlanningError(InvalidInputError, ValueError):
    """The inputs cannot be turned into a rebalance plan."""


class InvalidAccountError(PlanningError):
    """The account snapshot is malformed."""


class MissingPriceError(PlanningError):
    """A security that must be valued or traded has no price."""

    def __init__(self, symbol: str) -> None:
        super().__init__(f"no price for {symbol!r}")
        self.symbol = symbol


class InvalidOptionsError(PlanningError):
    """The plan options contradict each other or the chosen mode."""


class WithdrawalError(PlanningError):
    """The withdrawal cannot be raised in full: the message says which constraint stops it."""
