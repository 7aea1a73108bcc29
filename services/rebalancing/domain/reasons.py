"""Reasons a person can read: the drift a trade fixes, the lots it sells, the tax it realizes or saves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from shared.holding_period import Term
from shared.money import CENT, cents

from .plan import LotSale

__all__ = ["drift_phrase", "kept_phrase", "lots_phrase", "tax_phrase"]


def _pts(value: Decimal) -> str:
    return f"{value:.1f}"


def drift_phrase(
    cls: str, before: Mapping[str, Decimal], after: Mapping[str, Decimal], target: Mapping[str, Decimal]
) -> str:
    """E.g. ``equity 68.3% -> 60.1% (target 60.0%)``."""
    b = before.get(cls, Decimal(0))
    a = after.get(cls, Decimal(0))
    t = target.get(cls, Decimal(0))
    side = "over" if b > t else "under"
    return f"{cls} {_pts(abs(b - t))} pts {side} target ({_pts(b)}% -> {_pts(a)}%, target {_pts(t)}%)"


_TERM = {term: f"{term.value}-term" for term in Term}


def lots_phrase(lots: Sequence[LotSale]) -> str:
    parts = []
    for lot in lots:
        gain = lot.gain
        kind = "loss" if gain < 0 else "gain"
        dollars = abs(gain).quantize(CENT, rounding=ROUND_HALF_UP)  # cents()
        parts.append(f"{lot.lot_id} {lot.shares} sh ({_TERM[lot.term]} {kind} ${dollars})")
    return "sells lots " + ", ".join(parts)


def tax_phrase(gain: Decimal, tax: Decimal, taxable: bool) -> str:
    if not taxable:
        return "no tax (tax-advantaged account)"
    if tax < 0:
        return f"realizes a net loss of ${cents(-gain)}, saving est. ${cents(-tax)} tax"
    if gain < 0:
        return f"realizes a net loss of ${cents(-gain)}"
    return f"realizes a net gain of ${cents(gain)}, est. tax ${cents(tax)}"


def kept_phrase(lot_ids: Sequence[str]) -> str:
    """Why loss lots were left alone: a recent household purchase would wash their loss."""
    which = ", ".join(lot_ids)
    return f"keeps {which}: a household purchase in the last 30 days would wash its loss"
