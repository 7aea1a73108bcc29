"""Pure rebalancing domain: drift, heuristic and tax-aware optimizer, rounding and repair.

Public surface: the facade :func:`plan_rebalance`, its inputs (:class:`AccountSnapshot`,
:class:`TaxLot`, :class:`PlanOptions` with :class:`Band`, :class:`TaxBudget`, :class:`CostModel`,
:class:`TaxInputs`, :class:`Covariance`), its output (:class:`RebalancePlan`, :class:`Trade`,
:class:`LotSale`), the drift helpers and the errors. Everything else is private to the package.
"""

from __future__ import annotations

from .drift import allocation, deviations, needs_rebalancing, out_of_band
from .errors import InvalidAccountError, InvalidOptionsError, MissingPriceError, PlanningError, WithdrawalError
from .facade import METHODS, plan_rebalance
from .harvest import harvest_candidates
from .model import (
    AccountSnapshot,
    Band,
    CostModel,
    Covariance,
    PlanOptions,
    RebalanceMode,
    RebalanceTo,
    TaxBudget,
    TaxInputs,
    TaxLot,
)
from .plan import LotSale, RebalancePlan, Trade, TradeAction

__all__ = [
    "METHODS",
    "AccountSnapshot",
    "Band",
    "CostModel",
    "Covariance",
    "InvalidAccountError",
    "InvalidOptionsError",
    "LotSale",
    "MissingPriceError",
    "PlanOptions",
    "PlanningError",
    "RebalanceMode",
    "RebalancePlan",
    "RebalanceTo",
    "TaxBudget",
    "TaxInputs",
    "TaxLot",
    "Trade",
    "TradeAction",
    "WithdrawalError",
    "allocation",
    "deviations",
    "harvest_candidates",
    "needs_rebalancing",
    "out_of_band",
    "plan_rebalance",
]
