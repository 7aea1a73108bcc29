"""Inputs of the planner: the account snapshot, the options and what the tax engine tells us.

Units: money (cash, cost basis, amounts) in dollars as :class:`~decimal.Decimal`; shares as Decimal;
allocations and bands in *percentage points* of the account's total value (``Decimal("60")`` is
60%); rates as fractions (``Decimal("0.15")`` is 15%); costs: :class:`shared.costs.CostModel`
(basis points of the traded value).
All dataclasses are frozen and keyword-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from shared.costs import CostModel
from shared.holding_period import Term
from shared.money import ZERO

__all__ = [
    "AccountSnapshot",
    "Band",
    "CostModel",
    "Covariance",
    "PlanOptions",
    "RebalanceMode",
    "RebalanceTo",
    "TaxBudget",
    "TaxInputs",
    "TaxLot",
]


class RebalanceMode(StrEnum):
    """What kind of rebalance to plan."""

    FULL = "full"  # every class to its goal
    THRESHOLD = "threshold"  # only classes out of band
    BUY_ONLY = "buy-only"  # invest the spare cash, never sell
    SELL_ONLY = "sell-only"  # raise cash for a withdrawal, never buy
    HARVEST = "harvest"  # sell the harvest candidate lots, keep the cash
    HARVEST_REINVEST = "harvest-reinvest"  # sell the candidates, buy their replacements


class RebalanceTo(StrEnum):
    """Where a class that moves is brought: its target, or just inside its band."""

    TARGET = "target"
    BAND_EDGE = "band-edge"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxLot:
    """One tax lot: ``cost_basis`` is the lot's total basis in dollars (not per share)."""

    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnapshot:
    """An account as the planner sees it.

    ``target`` maps asset class to percent (summing to 100; ``cash`` is a class). ``security_targets``
    optionally splits a class between securities (symbol to percent of the *account*) where a model
    gives them. ``cash_reserve`` is the cash the plan never goes below.
    """

    account_id: str
    taxable: bool
    cash: Decimal
    lots: tuple[TaxLot, ...]
    target: Mapping[str, Decimal]
    security_targets: Mapping[str, Decimal] = field(default_factory=dict)
    substitutes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per model security, the symbols bought instead when it cannot be bought (in order)."""
    cash_reserve: Decimal = ZERO
    fractional: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """Tolerance band around each class target, in percentage points.

    ``absolute`` points (e.g. 5) and/or ``relative`` fraction of the target (e.g. 0.25 for 25%);
    with both, the narrower applies (the "5/25" rule). A class is out of band when
    ``|current - target| > width``.
    """

    absolute: Decimal | None = Decimal("5")
    relative: Decimal | None = None

    def width(self, target_points: Decimal) -> Decimal:
        if self.relative is None and self.absolute is not None:
            return self.absolute  # the usual band: min() of one width
        widths = []
        if self.absolute is not None:
            widths.append(self.absolute)
        if self.relative is not None:
            widths.append(self.relative * target_points)
        return min(widths) if widths else ZERO


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxBudget:
    """Caps per run: realized net gain (dollars) and/or estimated tax (dollars)."""

    max_net_gain: Decimal | None = None
    max_tax: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """How to plan.

    ``min_trade`` (dollars): smaller trades are dropped. ``improvement_threshold`` (points): a trade
    that moves its class by fewer points than this is dropped. ``max_trade_amount`` (dollars) caps
    each trade; ``turnover_cap`` (percent of the account value) caps buys plus sells. ``exclude_symbols``
    are never traded; ``restricted_symbols`` are never bought (held ones may be sold). ``method``
    is ``"optimizer"`` (tax-aware QP, heuristic as fallback) or ``"heuristic"``; ``backend`` chooses
    the QP route: ``"osqp"`` (sparse matrices, OSQP directly) or ``"cvxpy"`` / ``"cvxpy-osqp"``
    (the same problem through cvxpy, Clarabel or OSQP). ``drift_aversion`` weighs squared class deviations
    (in fractions of the account) against tax and costs (in fractions of the account).
    """

    mode: RebalanceMode = RebalanceMode.FULL
    band: Band = field(default_factory=Band)
    rebalance_to: RebalanceTo = RebalanceTo.TARGET
    withdraw_amount: Decimal = ZERO
    min_trade: Decimal = ZERO
    improvement_threshold: Decimal = ZERO
    max_trade_amount: Decimal | None = None
    turnover_cap: Decimal | None = None
    exclude_symbols: frozenset[str] = frozenset()
    restricted_symbols: frozenset[str] = frozenset()
    tax_budget: TaxBudget = field(default_factory=TaxBudget)
    costs: CostModel = field(default_factory=CostModel)
    method: str = "optimizer"
    backend: str = "osqp"
    drift_aversion: float = 200.0
    tracking_aversion: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxInputs:
    """What the tax engine provides, as plain values.

    ``short_term_rate``/``long_term_rate``: marginal rates (fractions). ``lot_terms``: lot id to term
    (lots missing here get their term from ``as_of``). ``do_not_buy``: symbols never bought (wash-sale
    windows). ``harvest_lot_ids``: candidate lots for the harvest modes; ``replacements``: symbol
    sold to the symbol bought instead (harvest-reinvest).
    """

    short_term_rate: Decimal = ZERO
    long_term_rate: Decimal = ZERO
    lot_terms: Mapping[str, Term] = field(default_factory=dict)
    do_not_buy: frozenset[str] = frozenset()
    harvest_lot_ids: tuple[str, ...] = ()
    replacements: Mapping[str, str] = field(default_factory=dict)
    washed_lot_ids: frozenset[str] = frozenset()
    """Lots whose loss a household purchase of the last 30 days would wash: selling them saves no tax."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Covariance:
    """Covariance of security returns (annualized, as fractions): ``matrix[i][j]`` for ``symbols``."""

    symbols: tuple[str, ...]
    matrix: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.symbols)
        if self.matrix.shape != (n, n):
            raise ValueError(f"covariance is {self.matrix.shape}, expected ({n}, {n})")
