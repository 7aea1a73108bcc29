"""The valued account: holdings, lots, classes and per-lot tax facts, validated and sorted.

Everything downstream reads a :class:`Book`, never the raw snapshot. Lots and symbols are sorted
(symbol, acquisition date, lot id) so results do not depend on the order of the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
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

    def class_of(self, symbol: str) -> str:
        cls = self.classes.get(symbol)
        return cls if cls is not None else self.securities.asset_class(symbol)

    def lots_of(self, symbol: str) -> list[LotFacts]:
        return list(self.by_symbol.get(symbol, ()))

    def class_values(self) -> dict[str, Decimal]:
        values = {c: ZERO for c in ASSET_CLASSES}
        for symbol, value in self.holdings.items():
            values[self.class_of(symbol)] += value
        values[CASH] += self.cash
        return values

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


def build_book(
    account: AccountSnapshot,
    prices: Mapping[str, Decimal],
    *,
    as_of: date,
    securities: SecurityMaster,
    tax: TaxInputs | None,
) -> Book:
    """Validate and value ``account`` at ``prices`` on ``as_of``."""
    if account.cash < 0:
        raise InvalidAccountError(f"cash is negative ({account.cash})")
    if account.cash_reserve < 0:
        raise InvalidAccountError(f"cash_reserve is negative ({account.cash_reserve})")
    target = _validate_target(account.target)
    seen: set[str] = set()
    facts: list[LotFacts] = []
    classes: dict[str, str] = {}
    terms: dict[date, Term] = {}
    for lot in account.lots:
        if lot.lot_id in seen:
            raise InvalidAccountError(f"lot {lot.lot_id!r} appears twice")
        seen.add(lot.lot_id)
        if lot.shares <= 0:
            raise InvalidAccountError(f"lot {lot.lot_id!r}: shares must be positive ({lot.shares})")
        if lot.cost_basis < 0:
            raise InvalidAccountError(f"lot {lot.lot_id!r}: cost_basis is negative ({lot.cost_basis})")
        if lot.acquired > as_of:
            raise InvalidAccountError(f"lot {lot.lot_id!r}: acquired {lot.acquired} is after {as_of}")
        if lot.symbol not in classes:
            try:
                classes[lot.symbol] = securities[lot.symbol].asset_class
            except UnknownSecurityError as exc:
                raise InvalidAccountError(f"lot {lot.lot_id!r}: {exc}") from None
        price = prices.get(lot.symbol)
        if price is None:
            raise MissingPriceError(lot.symbol)
        if price <= 0:
            raise InvalidAccountError(f"{lot.symbol}: price must be positive ({price})")
        term = (tax.lot_terms.get(lot.lot_id) if tax else None) or terms.get(lot.acquired)
        if term is None:
            held = (as_of - lot.acquired).days  # more than 366 days: past any anniversary; 365 or less: not
            term = Term.LONG if held > 366 else Term.SHORT if held <= 365 else term_of(lot.acquired, as_of)
            terms[lot.acquired] = term
        gain_per_share = price - lot.cost_basis / lot.shares
        washed = tax is not None and lot.lot_id in tax.washed_lot_ids and gain_per_share < 0
        term_rate = ZERO
        if account.taxable and tax is not None:
            term_rate = tax.long_term_rate if term is Term.LONG else tax.short_term_rate
        rate = ZERO if washed else term_rate
        cost_per_share = -gain_per_share * term_rate if washed else gain_per_share * rate
        facts.append(
            LotFacts(
                lot=lot,
                price=price,
                term=term,
                gain_per_share=gain_per_share,
                rate=rate,
                washed=washed,
                cost_per_share=cost_per_share,
            )
        )
    facts.sort(key=lambda f: (f.lot.symbol, f.cost_per_share, f.gain_per_share, f.lot.lot_id))  # symbol, tax order
    holdings: dict[str, Decimal] = {}
    shares: dict[str, Decimal] = {}
    by_symbol: dict[str, list[LotFacts]] = {}
    for f in facts:
        symbol, lot_shares = f.lot.symbol, f.lot.shares
        by_symbol.setdefault(symbol, []).append(f)
        holdings[symbol] = holdings.get(symbol, ZERO) + lot_shares * f.price
        shares[symbol] = shares.get(symbol, ZERO) + lot_shares
    total = account.cash + sum(holdings.values(), ZERO)
    if total <= 0:
        raise InvalidAccountError("the account has no value")
    return Book(
        account=account,
        as_of=as_of,
        securities=securities,
        prices=prices,
        lots=tuple(facts),
        holdings=dict(sorted(holdings.items())),
        shares=dict(sorted(shares.items())),
        cash=account.cash,
        total=total,
        target=target,
        by_symbol={s: tuple(v) for s, v in by_symbol.items()},
        classes=classes,
    )
