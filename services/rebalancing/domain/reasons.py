"""Reasons a person can read: the drift a trade fixes, the lots it sells, the tax it realizes or saves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from shared.holding_period import Term
from shared.money import CENT, cents

from .plan import LotSale

__all__ = ["SellReason", "drift_phrase", "kept_phrase", "lot_part", "lots_phrase", "sell_reason", "tax_phrase"]


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


_ZERO = Decimal(0)
_TERM_GAIN = {term: f"{term.value}-term gain $" for term in Term}
_TERM_LOSS = {term: f"{term.value}-term loss $" for term in Term}


def lot_part(lot_id: str, shares: Decimal, gain: Decimal, term: Term) -> str:
    """One lot of :func:`lots_phrase`, e.g. ``L1 10 sh (long-term gain $12.50)``.

    One ``%`` format (``%s`` is ``str``: the same text as an f-string's ``{}`` at a third of its
    cost) and the rounding passed positionally (a keyword costs a C method as much as the rounding):
    this runs for every lot sold on every plan."""
    return "%s %s sh (%s%s)" % (  # noqa: UP031 (one format call is the point)
        lot_id,
        shares,
        _TERM_LOSS[term] if gain < _ZERO else _TERM_GAIN[term],
        abs(gain).quantize(CENT, ROUND_HALF_UP),  # cents()
    )


def lots_phrase(lots: Sequence[LotSale]) -> str:
    return "sells lots " + ", ".join([lot_part(lot.lot_id, lot.shares, lot.gain, lot.term) for lot in lots])


def tax_phrase(gain: Decimal, tax: Decimal, taxable: bool) -> str:
    if not taxable:
        return "no tax (tax-advantaged account)"
    if tax < _ZERO:
        return f"realizes a net loss of ${cents(-gain)!s}, saving est. ${cents(-tax)!s} tax"
    if gain < _ZERO:
        return f"realizes a net loss of ${cents(-gain)!s}"
    return f"realizes a net gain of ${cents(gain)!s}, est. tax ${cents(tax)!s}"


def kept_phrase(lot_ids: Sequence[str]) -> str:
    """Why loss lots were left alone: a recent household purchase would wash their loss."""
    which = ", ".join(lot_ids)
    return f"keeps {which}: a household purchase in the last 30 days would wash its loss"


class SellReason(NamedTuple):
    """A sell's reason, rendered when first read (a :class:`~.plan.DeferredText`, see
    :attr:`~.plan.Trade.reason`): ``head`` (its purpose and drift phrases), the lots it sells, the tax
    phrase of their ``gain`` and ``tax``, and the washed loss lots it ``kept``. A named tuple: the
    planner makes one per sell on every plan, and building the text (every lot's phrase) costs more
    than the rest of the trade; :meth:`render` gives exactly the text built up front before."""

    head: tuple[str, ...]
    lots: tuple[LotSale, ...]
    gain: Decimal
    tax: Decimal
    taxable: bool
    kept: tuple[str, ...] = ()

    def render(self) -> str:
        parts = [*self.head, lots_phrase(self.lots), tax_phrase(self.gain, self.tax, self.taxable)]
        if self.kept:
            parts.append(kept_phrase(self.kept))
        return "; ".join(parts)


_new_tuple = tuple.__new__


def sell_reason(
    head: tuple[str, ...], lots: tuple[LotSale, ...], gain: Decimal, tax: Decimal, taxable: bool, kept: tuple[str, ...]
) -> SellReason:
    """``SellReason(head, lots, gain, tax, taxable, kept)`` without the named tuple's Python-level
    ``__new__`` (one per sell on every plan)."""
    reason: SellReason = _new_tuple(SellReason, (head, lots, gain, tax, taxable, kept))
    return reason
