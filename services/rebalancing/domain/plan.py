"""The planner's output: trades with their lots and reasons, and the plan around them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from shared.holding_period import Term
from shared.money import cents

__all__ = ["DeferredText", "LotSale", "RebalancePlan", "Trade", "TradeAction", "lot_sale", "trade"]


class TradeAction(StrEnum):
    BUY = "buy"
    SELL = "sell"


class LotSale(NamedTuple):
    """Shares sold out of one lot; ``gain`` in dollars (negative for a loss).

    Immutable; a named tuple rather than a frozen dataclass (as :class:`~.book.LotFacts`): the planner
    makes one per lot sold on every plan, and a tuple costs less than half as much to build. Built
    with keywords, it reads and prints as the dataclass did."""

    lot_id: str
    shares: Decimal
    gain: Decimal
    term: Term


_new_tuple = tuple.__new__


def lot_sale(lot_id: str, shares: Decimal, gain: Decimal, term: Term) -> LotSale:
    """``LotSale(lot_id=..., shares=..., gain=..., term=...)`` without the named tuple's Python-level
    ``__new__``; the object is the same."""
    sale: LotSale = _new_tuple(LotSale, (lot_id, shares, gain, term))
    return sale


_new = object.__new__


class DeferredText(Protocol):
    """Text built when first read: see :attr:`Trade.reason`."""

    def render(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One order: ``value = shares * price`` in dollars; ``lots`` only for sells.

    ``reason`` is a string. The planner may hand over a :class:`DeferredText` instead (a sell's reason
    names every lot it sells, the most costly text of a plan to build): it is rendered on the first read
    of ``reason`` and kept, so ``reason``, equality, hashing, ``repr``, pickling and
    ``dataclasses.replace`` all see the same string as if it had been built up front."""

    symbol: str
    action: TradeAction
    shares: Decimal
    price: Decimal
    value: Decimal
    lots: tuple[LotSale, ...]
    reason: str

    @property
    def realized_gain(self) -> Decimal:
        return sum((lot.gain for lot in self.lots), Decimal(0))


_reason_slot = Trade.__dict__["reason"]  # the slot's own descriptor, before the property replaces it
_get_reason, _set_reason = _reason_slot.__get__, _reason_slot.__set__


def _read_reason(self: Trade) -> str:
    text = _get_reason(self, Trade)
    if not isinstance(text, str):  # deferred: rendered once, then kept
        text = text.render()
        _set_reason(self, text)
    return text


# the frozen dataclass's __init__ and __setstate__ set fields through object.__setattr__, which calls
# this property's setter (the slot's); assignments from outside still raise FrozenInstanceError
setattr(Trade, "reason", property(_read_reason, _set_reason, doc="Why the trade: what a person reads."))  # noqa: B010

_trade_setters = (
    *(Trade.__dict__[name].__set__ for name in ("symbol", "action", "shares", "price", "value", "lots")),
    _set_reason,
)


def trade(
    symbol: str,
    action: TradeAction,
    shares: Decimal,
    price: Decimal,
    value: Decimal,
    lots: tuple[LotSale, ...],
    reason: str | DeferredText,
) -> Trade:
    """``Trade(symbol=..., ..., reason=...)`` at 2/5 of the cost, as :func:`lot_sale`: the planner makes
    one per trade on every plan; the object is the same. ``reason`` may be deferred (see :class:`Trade`)."""
    made: Trade = _new(Trade)
    set_symbol, set_action, set_shares, set_price, set_value, set_lots, set_reason = _trade_setters
    set_symbol(made, symbol)
    set_action(made, action)
    set_shares(made, shares)
    set_price(made, price)
    set_value(made, value)
    set_lots(made, lots)
    set_reason(made, reason)
    return made


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)  # 120, not 1.2E+2


def _pct(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


@dataclass(frozen=True, slots=True, kw_only=True)
class RebalancePlan:
    """A plan for one account.

    ``deviations``: asset class to signed percentage points (current minus target), before trading.
    ``before``/``after``: asset class to percent of the account. ``estimated_tax``: dollars
    (negative is a saving); ``estimated_costs``: dollars. ``solver`` names what produced the trades,
    e.g. ``"osqp"``, ``"cvxpy/OSQP"``, ``"heuristic"`` or ``"heuristic (fallback: <reason>)"``.
    """

    account_id: str
    mode: str
    needs_rebalancing: bool
    deviations: Mapping[str, Decimal]
    trades: tuple[Trade, ...]
    estimated_tax: Decimal
    realized_gain: Decimal
    estimated_costs: Decimal
    before: Mapping[str, Decimal]
    after: Mapping[str, Decimal]
    cash_after: Decimal
    solver: str
    warnings: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` shape: decimal strings, never floats."""
        return {
            "account_id": self.account_id,
            "mode": self.mode,
            "needs_rebalancing": self.needs_rebalancing,
            "deviations": {k: _pct(v) for k, v in self.deviations.items()},
            "trades": [
                {
                    "symbol": t.symbol,
                    "action": t.action.value,
                    "shares": _num(t.shares),
                    "price": str(t.price),
                    "value": str(cents(t.value)),
                    "lots": [
                        {
                            "lot_id": lot.lot_id,
                            "shares": _num(lot.shares),
                            "gain": str(cents(lot.gain)),
                            "term": lot.term.value,
                        }
                        for lot in t.lots
                    ],
                    "reason": t.reason,
                }
                for t in self.trades
            ],
            "estimated_tax": str(cents(self.estimated_tax)),
            "realized_gain": str(cents(self.realized_gain)),
            "estimated_costs": str(cents(self.estimated_costs)),
            "before": {k: _pct(v) for k, v in self.before.items()},
            "after": {k: _pct(v) for k, v in self.after.items()},
            "cash_after": str(cents(self.cash_after)),
            "solver": self.solver,
            "warnings": list(self.warnings),
        }
