"""Buys sized to the cash the sells actually raised (pure).

The plan sized its buys on the sells' expected proceeds. When sells fill only in part, are rejected or
fill at worse prices, the buys must shrink. ``allowance_bps`` is the slippage and fees a sell may lose
without touching the buys (the paper broker's spread and commission stay within the default 25 bps).

* expected  = sum over sells of planned shares x run price x (1 - allowance)
* raised    = sum over sell fills of filled shares x average price - fees
* shortfall = max(0, expected - raised)
* When short, every buy is scaled by (planned cost - shortfall) / planned cost, planned cost counted at
  run price x (1 + allowance); shares are floored (whole shares, or 6 places for a fractional trade).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from contracts import Trade
from shared.money import ZERO, floor_shares

__all__ = ["cash_shortfall", "size_buys"]

_BPS = Decimal(10_000)


def cash_shortfall(
    sells: Sequence[Trade], prices: Mapping[str, Decimal], raised: Decimal, *, allowance_bps: Decimal
) -> Decimal:
    """How much less cash the sells raised than the plan counted on (0 when within the allowance)."""
    keep = 1 - allowance_bps / _BPS
    expected = sum((t.shares * prices[t.symbol] * keep for t in sells), ZERO)
    return max(ZERO, expected - raised)


def _fractional(shares: Decimal) -> bool:
    return shares != shares.to_integral_value()


def size_buys(
    buys: Sequence[Trade], prices: Mapping[str, Decimal], shortfall: Decimal, *, allowance_bps: Decimal
) -> dict[str, Decimal]:
    """Shares to order for each buy (by trade id): as planned, or scaled down to cover ``shortfall``."""
    if shortfall <= 0 or not buys:
        return {t.trade_id: t.shares for t in buys}
    up = 1 + allowance_bps / _BPS
    planned_cost = sum((t.shares * prices[t.symbol] * up for t in buys), ZERO)
    if planned_cost <= 0:
        return {t.trade_id: t.shares for t in buys}
    factor = max(ZERO, min(Decimal(1), (planned_cost - shortfall) / planned_cost))
    return {t.trade_id: floor_shares(t.shares * factor, fractional=_fractional(t.shares)) for t in buys}
