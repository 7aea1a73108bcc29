"""The valued account: holdings, lots, classes and per-lot tax facts, validated and sorted.

Everything downstream reads a :class:`Book`, never the raw snapshot. Lots and symbols are sorted
(symbol, acquisition date, lot id) so results do not depend on the order of the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from shared.holding_period import Term, term_of
from shared.money import ZERO
from shared.securities import ASSET_CLASSES, SecurityMaster, UnknownSecurityError

from .errors import InvalidAccountError, MissingPriceError
from .model import AccountSnapshot, TaxInputs, TaxLot

__all__ = ["CASH", "Book", "LotFacts", "build_book", "lot_tax_order"]

CASH = "cash"
_HUNDRED = Decimal(100)


class LotFacts(NamedTuple):
    """A lot with its price, term, unrealized gain per share (dollars) and marginal tax rate.

    Immutable; a named tuple rather than a frozen dataclass because a book makes one per lot on every
    plan and a frozen dataclass costs three times as much to build."""

    lot: TaxLot
    price: Decimal
    term: Term
    gain_per_share: Decimal
    rate: Decimal
    washed: bool = False
    """A loss that a recent household purchase would wash: no tax saved by selling it now."""
    cost_per_share: Decimal = ZERO
    """Tax cost of selling one share: gain per share times the lot's rate (negative for a loss: a
    saving, larger for short-term losses). A washed loss saves nothing now and gives up its saving:
    its cost is that forfeited saving (the loss times its term's rate), so it goes after cheaper gains."""

    @property
    def lot_id(self) -> str:
        return self.lot.lot_id

    @property
    def symbol(self) -> str:
        return self.lot.symbol

    @property
    def value(self) -> Decimal:
        return self.lot.shares * self.price

    @property
    def gain_fraction(self) -> Decimal:
        """Unrealized gain per dollar of sale proceeds."""
        return self.gain_per_share / self.price if self.price else ZERO


def lot_tax_order(facts: LotFacts) -> tuple[Decimal, Decimal, str]:
    """Relief order within a security: the lowest tax cost per share first (losses, short-term losses
    before long-term ones at the usual rates, then the cheapest gains whatever their term); ties by
    gain per share, then lot id."""
    return (facts.cost_per_share, facts.gain_per_share, facts.lot_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Book:
    account: AccountSnapshot
    as_of: date
    securities: SecurityMaster
    prices: Mapping[str, Decimal]
    lots: tuple[LotFacts, ...]  # sorted by symbol, then tax order
    holdings: Mapping[str, Decimal]  # symbol -> market value (dollars), sorted by symbol
    shares: Mapping[str, Decimal]
    cash: Decimal
    total: Decimal
    target: Mapping[str, Decimal]  # every class of ASSET_CLASSES, percent
    by_symbol: Mapping[str, tuple[LotFacts, ...]]  # symbol -> its lots in tax order
    classes: Mapping[str, str]  # held symbol -> asset class (others: from the securities master)
    facts_by_id: Mapping[str, LotFacts]  # lot id -> its facts
    values_by_class: Mapping[str, Decimal]  # asset class -> market value before trading (cash included)
    held_by_class: Mapping[str, Decimal]  # asset class -> market value of the holdings (cash not included)

    def class_of(self, symbol: str) -> str:
        cls = self.classes.get(symbol)
        return cls if cls is not None else self.securities.asset_class(symbol)

    def lots_of(self, symbol: str) -> list[LotFacts]:
        return list(self.by_symbol.get(symbol, ()))

    def class_values(self) -> dict[str, Decimal]:
        """Asset class to market value before trading (cash included); a fresh dict."""
        return dict(self.values_by_class)

    def price(self, symbol: str) -> Decimal:
        try:
            return self.prices[symbol]
        except KeyError:
            raise MissingPriceError(symbol) from None


def _validate_target(target: Mapping[str, Decimal]) -> dict[str, Decimal]:
    for cls, pct in target.items():
        if cls not in ASSET_CLASSES:
            raise InvalidAccountError(f"target: unknown asset class {cls!r} (one of {', '.join(ASSET_CLASSES)})")
        if pct < 0:
            raise InvalidAccountError(f"target: {cls} is negative ({pct})")
    total = sum(target.values(), ZERO)
    if abs(total - _HUNDRED) > Decimal("0.01"):
        raise InvalidAccountError(f"target: percentages sum to {total}, not 100")
    return {c: target.get(c, ZERO) for c in ASSET_CLASSES}


def _symbol_facts(lot: TaxLot, prices: Mapping[str, Decimal], securities: SecurityMaster) -> tuple[Decimal, str]:
    """The validated price and asset class of ``lot``'s security (checked once per symbol)."""
    try:
        cls = securities[lot.symbol].asset_class
    except UnknownSecurityError as exc:
        raise InvalidAccountError(f"lot {lot.lot_id!r}: {exc}") from None
    price = prices.get(lot.symbol)
    if price is None:
        raise MissingPriceError(lot.symbol)
    if price <= 0:
        raise InvalidAccountError(f"{lot.symbol}: price must be positive ({price})")
    return price, cls


def _days_before(day: date, days: int) -> date:
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return date.min


def build_book(
    account: AccountSnapshot,
    prices: Mapping[str, Decimal],
    *,
    as_of: date,
    securities: SecurityMaster,
    tax: TaxInputs | None,
) -> Book:
    """Validate and value ``account`` at ``prices`` on ``as_of``.

    One pass over the lots with the per-symbol facts (class, price) and the per-date terms looked up
    once: this runs on every plan, so it keeps to plain local variables."""
    if account.cash < 0:
        raise InvalidAccountError(f"cash is negative ({account.cash})")
    if account.cash_reserve < 0:
        raise InvalidAccountError(f"cash_reserve is negative ({account.cash_reserve})")
    target = _validate_target(account.target)
    by_id: dict[str, LotFacts] = {}  # also the duplicate check, in the order of the lots
    classes: dict[str, str] = {}
    # symbol -> (its price, its lots keyed by tax order): the price and class looked up once per symbol,
    # each symbol's lots sorted on their own (no global sort comparing symbols)
    per_symbol: dict[str, tuple[Decimal, list[tuple[Decimal, Decimal, str, LotFacts]]]] = {}
    terms: dict[date, Term] = {}
    lot_terms = tax.lot_terms if tax is not None and tax.lot_terms else None
    washed_ids = tax.washed_lot_ids if tax is not None else frozenset()
    taxed = account.taxable and tax is not None
    long_rate = tax.long_term_rate if taxed and tax is not None else ZERO
    short_rate = tax.short_term_rate if taxed and tax is not None else ZERO
    long_term, short_term = Term.LONG, Term.SHORT
    # dates compared rather than days counted per lot: acquired before ``long_before``, held more than
    # 366 days; on or after ``short_from``, 365 days or less
    long_before = _days_before(as_of, 366)
    short_from = _days_before(as_of, 365)
    new_facts = tuple.__new__
    for lot in account.lots:
        lot_id, symbol, lot_shares, acquired = lot.lot_id, lot.symbol, lot.shares, lot.acquired
        if lot_id in by_id:
            raise InvalidAccountError(f"lot {lot_id!r} appears twice")
        if lot_shares <= ZERO:
            raise InvalidAccountError(f"lot {lot_id!r}: shares must be positive ({lot_shares})")
        if lot.cost_basis < ZERO:
            raise InvalidAccountError(f"lot {lot_id!r}: cost_basis is negative ({lot.cost_basis})")
        if acquired > as_of:
            raise InvalidAccountError(f"lot {lot_id!r}: acquired {acquired} is after {as_of}")
        entry = per_symbol.get(symbol)
        if entry is None:
            price, classes[symbol] = _symbol_facts(lot, prices, securities)
            entry = per_symbol[symbol] = (price, [])
        price, keyed = entry
        term = lot_terms.get(lot_id) if lot_terms is not None else None
        if term is None:
            # held more than 366 days: past any anniversary; 365 or less: not; in between, the calendar
            if acquired < long_before:
                term = long_term
            elif acquired >= short_from:
                term = short_term
            else:
                term = terms.get(acquired)
                if term is None:
                    term = terms[acquired] = term_of(acquired, as_of)
        gain_per_share = price - lot.cost_basis / lot_shares
        term_rate = long_rate if term is long_term else short_rate
        if gain_per_share < ZERO and lot_id in washed_ids:
            rate, washed, cost = ZERO, True, -gain_per_share * term_rate
        else:
            rate, washed, cost = term_rate, False, gain_per_share * term_rate
        # the named tuple's own constructor, without its Python-level __new__ (one call per lot)
        facts = new_facts(LotFacts, (lot, price, term, gain_per_share, rate, washed, cost))
        keyed.append((cost, gain_per_share, lot_id, facts))  # tax order
        by_id[lot_id] = facts
    facts_list: list[LotFacts] = []
    holdings: dict[str, Decimal] = {}
    shares: dict[str, Decimal] = {}
    by_symbol: dict[str, tuple[LotFacts, ...]] = {}
    for symbol in sorted(per_symbol):  # the book's lots: symbol order, each symbol's lots in tax order
        price, keyed = per_symbol[symbol]
        keyed.sort()  # lot ids are unique: the facts themselves are never compared
        run = tuple([row[3] for row in keyed])
        value = count = ZERO
        for f in run:
            lot_shares = f[0].shares
            value = value + lot_shares * price
            count = count + lot_shares
        holdings[symbol], shares[symbol], by_symbol[symbol] = value, count, run
        facts_list += run
    total = account.cash + sum(holdings.values(), ZERO)
    if total <= 0:
        raise InvalidAccountError("the account has no value")
    held_values = {c: ZERO for c in ASSET_CLASSES}
    for symbol, value in holdings.items():
        held_values[classes[symbol]] += value
    class_values = dict(held_values)
    class_values[CASH] += account.cash
    return Book(
        account=account,
        as_of=as_of,
        securities=securities,
        prices=prices,
        lots=tuple(facts_list),
        holdings=holdings,
        shares=shares,
        cash=account.cash,
        total=total,
        target=target,
        by_symbol=by_symbol,
        classes=classes,
        facts_by_id=by_id,
        values_by_class=class_values,
        held_by_class=held_values,
    )
