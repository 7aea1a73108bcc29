"""The ``should-rebalance`` decision of the original workflow, with its reason in words."""

from __future__ import annotations

from contracts import RunRecord

__all__ = ["should_rebalance"]


def should_rebalance(record: RunRecord) -> tuple[bool, str]:
    """Force, or needs rebalancing and the market timing is not poor; and there is something to trade."""
    plan = record.plan
    conditions = record.conditions
    if plan is None:
        return False, "no plan"
    if not plan.trades:
        if plan.needs_rebalancing:
            return False, "needs rebalancing, but no trade passes the plan's constraints"
        return False, "within bands: no rebalancing needed"
    if record.request.force_rebalance:
        return True, "forced by the request"
    if not plan.needs_rebalancing:
        return False, "within bands: no rebalancing needed"
    if conditions is not None and conditions.market_timing == "poor":
        return False, (
            f"needs rebalancing, but market timing is poor (VIX {conditions.volatility_index:.1f} above 30): postponed"
        )
    timing = conditions.market_timing if conditions else "unknown"
    return True, f"needs rebalancing and market timing is {timing}"
