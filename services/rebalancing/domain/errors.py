"""Errors of the rebalancing domain.

PlanningError            base: the inputs cannot be planned (a ``ValueError``)
├── InvalidAccountError  the account snapshot is malformed (negative shares, unknown class, ...)
├── MissingPriceError    a held or candidate security has no price
├── InvalidOptionsError  the options contradict each other or the mode
└── WithdrawalError      a withdrawal cannot be raised in full under the plan's constraints
"""

from __future__ import annotations

__all__ = ["InvalidAccountError", "InvalidOptionsError", "MissingPriceError", "PlanningError", "WithdrawalError"]


class PlanningError(ValueError):
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
