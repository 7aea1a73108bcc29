"""The paper broker's deterministic cost model: the shared one (:mod:`shared.costs`).

A buy fills at the close plus half the spread, a sell at the close minus half the spread (prices
rounded to 0.0001); the commission is a fixed amount per order plus basis points of the notional,
rounded to cents. Same inputs, same fills.
"""

from __future__ import annotations

from shared.costs import CostModel

__all__ = ["CostModel"]
