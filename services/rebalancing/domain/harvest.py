"""Tax-loss harvesting modes and the candidate finder the CLI uses when the tax engine is absent.

Harvest sells the candidate lots (whole lots, losses only); harvest-reinvest buys, with each symbol's
proceeds, its replacement: the one given by the tax context, or else the first security of the same
category and asset class in a different "substantially identical" group. Never a blocked symbol.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from shared.money import ZERO
from shared.securities import SecurityMaster

from .book import Book
from .heuristic import blocked_for_buying
from .intent import Intent
from .model import AccountSnapshot, PlanOptions, TaxInputs

__all__ = ["harvest_candidates", "harvest_intent", "pick_replacement"]


def harvest_candidates(
    account: AccountSnapshot,
    prices: Mapping[str, Decimal],
    *,
    min_loss: Decimal = ZERO,
    as_of: date | None = None,
) -> tuple[str, ...]:
    """Lot ids whose unrealized loss exceeds ``min_loss`` dollars (sorted), for accounts in tax."""
    del as_of  # the loss does not depend on the date; kept for a stable signature
    out = []
    for lot in account.lots:
        price = prices.get(lot.symbol)
        if price is not None and lot.cost_basis - lot.shares * price > min_loss:
            out.append(lot.lot_id)
    return tuple(sorted(out))


def pick_replacement(
    symbol: str, securities: SecurityMaster, blocked: frozenset[str], prices: Mapping[str, Decimal]
) -> str | None:
    for sec in securities.replacements(symbol):
        if sec.symbol not in blocked and prices.get(sec.symbol, ZERO) > 0:
            return sec.symbol
    return None


def harvest_intent(book: Book, options: PlanOptions, tax: TaxInputs | None, *, reinvest: bool) -> Intent:
    intent = Intent()
    if tax is None or not tax.harvest_lot_ids:
        intent.warnings.append("no harvest candidates given")
        return intent
    facts = {f.lot_id: f for f in book.lots}
    proceeds: dict[str, Decimal] = {}
    for lot_id in sorted(set(tax.harvest_lot_ids)):
        f = facts.get(lot_id)
        if f is None:
            intent.warnings.append(f"harvest candidate {lot_id!r} is not in the account")
            continue
        if f.gain_per_share >= 0:
            intent.warnings.append(f"harvest candidate {lot_id!r} has no loss: not sold")
            continue
        if f.symbol in options.exclude_symbols:
            continue
        intent.add_sell(lot_id, f.lot.shares)
        proceeds[f.symbol] = proceeds.get(f.symbol, ZERO) + f.value
        intent.purpose[f.symbol] = "harvests a loss"
    if not reinvest:
        return intent
    blocked = blocked_for_buying(options, tax)
    sold_groups = {book.securities.identical_group(s) for s in proceeds}
    rate = options.costs.rate
    for symbol, amount in sorted(proceeds.items()):
        replacement = tax.replacements.get(symbol) or pick_replacement(symbol, book.securities, blocked, book.prices)
        if replacement is None or replacement in blocked:
            intent.warnings.append(f"{symbol}: no replacement may be bought; proceeds stay in cash")
            continue
        if book.securities.identical_group(replacement) in sold_groups:
            intent.warnings.append(f"{symbol}: replacement {replacement} is substantially identical; not bought")
            continue
        intent.add_buy(replacement, amount / (1 + rate))
        intent.purpose[replacement] = f"replaces {symbol} sold for a loss (not substantially identical)"
    return intent
