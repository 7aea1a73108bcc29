"""The planner's output: trades with their lots and reasons, and the plan around them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.holding_period import Term
from shared.money import cents

__all__ = ["LotSale", "RebalancePlan", "Trade", "TradeAction", "lot_sale", "trade"]


class TradeAction(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True, kw_only=True)
class LotSale:
    """Shares sold out of one lot; ``gain`` in dollars (negative for a loss)."""

    lot_id: str
    shares: Decimal
    gain: Decimal
    term: Term


_new = object.__new__
_set_lot_id, _set_shares, _set_gain, _set_term = (
    LotSale.__dict__[name].__set__ for name in ("lot_id", "shares", "gain", "term")
)


def lot_sale(lot_id: str, shares: Decimal, gain: Decimal, term: Term) -> LotSale:
    """``LotSale(lot_id=..., shares=..., gain=..., term=...)`` at 2/5 of the cost: the slots are set
    through their descriptors, without the frozen dataclass's ``__init__`` (an ``object.__setattr__``
    call per field). The planner makes one per lot sold on every plan; the object is the same."""
    sale: LotSale = _new(LotSale)
    _set_lot_id(sale, lot_id)
    _set_shares(sale, shares)
    _set_gain(sale, gain)
    _set_term(sale, term)
    return sale


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One order: ``value = shares * price`` in dollars; ``lots`` only for sells."""

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


_trade_setters = tuple(
    Trade.__dict__[name].__set__ for name in ("symbol", "action", "shares", "price", "value", "lots", "reason")
)


def trade(
    symbol: str,
    action: TradeAction,
    shares: Decimal,
    price: Decimal,
    value: Decimal,
    lots: tuple[LotSale, ...],
    reason: str,
) -> Trade:
    """``Trade(symbol=..., ..., reason=...)`` at 2/5 of the cost, as :func:`lot_sale`: the planner makes
    one per trade on every plan; the object is the same."""
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
