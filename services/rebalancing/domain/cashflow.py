"""Cash-flow modes: buy-only (invest spare cash) and sell-only (raise cash for a withdrawal)."""

from __future__ import annotations

from decimal import Decimal

from shared.money import ZERO

from .book import CASH, Book, lot_tax_order
from .buys import buy_candidates, split_buy
from .drift import allocation, deviations
from .heuristic import blocked_for_buying
from .intent import Intent
from .lots import round_shares
from .model import PlanOptions, RebalanceTo, TaxInputs

__all__ = ["buy_only_intent", "sell_only_intent"]

_HUNDRED = Decimal(100)


def buy_only_intent(book: Book, options: PlanOptions, tax: TaxInputs | None) -> Intent:
    """Invest cash above the reserve, most underweight class first, only up to each class's goal
    (its target, or its lower band edge with ``rebalance_to=band-edge``): the minimum that restores
    balance. Never sells."""
    intent = Intent(drift_driven=True)
    rate = options.costs.rate
    spare = book.cash - book.account.cash_reserve
    if spare <= 0:
        return intent
    values = book.class_values()
    devs = deviations(allocation(values), book.target)
    blocked = blocked_for_buying(options, tax)
    for cls in sorted((c for c in book.target if c != CASH), key=lambda c: (devs[c], c)):
        goal_pct = book.target[cls]
        if options.rebalance_to is RebalanceTo.BAND_EDGE:
            goal_pct -= options.band.width(goal_pct)
        need = goal_pct * book.total / _HUNDRED - values[cls]
        if need <= 0 or spare <= 0:
            continue
        amount = min(need, spare / (1 + rate))
        symbols = buy_candidates(book, cls, blocked=blocked, sold_groups=())
        if not symbols:
            intent.warnings.append(f"{cls}: no security may be bought")
            continue
        for symbol, dollars in split_buy(book, symbols, amount).items():
            intent.add_buy(symbol, dollars)
            intent.purpose[symbol] = "invests spare cash"
        spare -= amount * (1 + rate)
    return intent


def sell_only_intent(book: Book, options: PlanOptions, tax: TaxInputs | None) -> Intent:
    """Raise ``withdraw_amount`` (plus what keeps the reserve and pays the costs): lots by tax cost per
    dollar sold, cheapest first (losses, the largest savings first, then the cheapest gains whatever
    their term); a sale smaller than ``min_trade`` is raised to it. Never buys; what cannot be raised
    is refused by :func:`~.finalize.finalize`."""
    intent = Intent()
    rate = options.costs.rate
    need = options.withdraw_amount + book.account.cash_reserve - book.cash
    if need <= 0:
        return intent
    order = sorted(
        (f for f in book.lots if f.symbol not in options.exclude_symbols),
        key=lambda f: (f.cost_per_share / f.price, *lot_tax_order(f), f.symbol),
    )
    cap = options.max_trade_amount
    sold: dict[str, Decimal] = {}
    commission = options.costs.commission_per_trade
    for facts in order:
        if need <= 0:
            break
        net = facts.price * (1 - rate)
        if facts.symbol not in sold:
            need += commission
        room = facts.lot.shares
        if cap is not None:
            room = min(room, (cap - sold.get(facts.symbol, ZERO)) // facts.price)
        take = round_shares(need / net, fractional=book.account.fractional, up=True)
        short_of_min = options.min_trade - sold.get(facts.symbol, ZERO) - take * facts.price
        if short_of_min > 0:  # the last sale is raised to min_trade rather than dropped by it
            take += round_shares(short_of_min / facts.price, fractional=book.account.fractional, up=True)
        take = min(room, take)
        if take <= 0:
            continue
        intent.add_sell(facts.lot_id, take)
        sold[facts.symbol] = sold.get(facts.symbol, ZERO) + take * facts.price
        need -= take * net
        intent.purpose[facts.symbol] = f"raises cash for a ${options.withdraw_amount:.2f} withdrawal"
    if need > 0:
        intent.warnings.append(f"cannot raise the withdrawal: ${need:.2f} short")
    return intent
