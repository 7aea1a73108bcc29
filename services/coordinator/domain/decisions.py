"""The ``should-rebalance`` decision of the original workflow, with its reason in words."""

from __future__ import annotations

from contracts import RunRecord

__all__ = ["should_rebalance"]


EXPLICIT_MODES = {
    "buy-only": "invests the cash",
    "sell-only": "raises the cash asked for",
    "harvest": "harvests losses",
    "harvest-reinvest": "harvests losses and reinvests",
}


def should_rebalance(record: RunRecord) -> tuple[bool, str]:
    """Force, or needs rebalancing and the market timing is not poor; and there is something to trade.

    The band and timing gates are for rebalancing to a target (``full`` and ``threshold``). A run in an
    explicit mode (invest the cash, raise cash for a withdrawal, harvest losses) was asked for its own
    purpose: it trades whenever its plan has trades."""
    conditions = record.conditions
    if record.planned_trades is None:
        return False, "no plan"
    has_trades = record.planned_trades > 0
    needs_rebalancing = bool(record.needs_rebalancing)
    mode = record.request.mode
    if mode in EXPLICIT_MODES:
        if not has_trades:
            return False, f"{mode}: nothing to trade"
        return True, f"{mode} run: {EXPLICIT_MODES[mode]}"
    if not has_trades:
        if needs_rebalancing:
            return False, "needs rebalancing, but no trade passes the plan's constraints"
        return False, "within bands: no rebalancing needed"
    if record.request.force_rebalance:
        return True, "forced by the request"
    if not needs_rebalancing:
        return False, "within bands: no rebalancing needed"
    if conditions is not None and conditions.market_timing == "poor":
        return False, (
            f"needs rebalancing, but market timing is poor (VIX {conditions.volatility_index:.1f} above 30): postponed"
        )
    timing = conditions.market_timing if conditions else "unknown"
    return True, f"needs rebalancing and market timing is {timing}"
