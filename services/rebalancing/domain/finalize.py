"""Rounding and repair: from an :class:`~.intent.Intent` to a :class:`~.plan.RebalancePlan` that keeps
every constraint.

In order: sells are clamped to what each lot holds (no oversell) and to whole shares; excluded
symbols are dropped; each symbol's sell is capped at ``max_trade_amount`` and the tax budget by
trimming the *tail* of its lot order (so the relief order survives); buys become whole (or
fractional) shares, never of a blocked symbol, a symbol the plan sells or one substantially identical
to it; the turnover cap scales everything down; then small trades (``min_trade``,
``improvement_threshold``) are dropped, so none comes out of the scaling; buys are trimmed until cash
after costs and any withdrawal is at least the reserve; finally, where the method allows it, spare
cash buys whole shares that reduce drift. A withdrawal the repaired sells do not raise in full is
refused (:class:`~.errors.WithdrawalError`, naming the constraints that cut the sells).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal

from shared.money import ZERO, floor_shares

from .book import CASH, Book, LotFacts
from .drift import allocation, any_out_of_band, deviations
from .errors import WithdrawalError
from .intent import Intent
from .lots import shares_for_dollars
from .model import PlanOptions, TaxInputs
from .plan import RebalancePlan, Trade, TradeAction, lot_sale, trade
from .reasons import drift_phrase, sell_reason

__all__ = ["finalize"]

_HUNDRED = Decimal(100)
_TOPUP_STEPS = 400


def _ceil(value: Decimal, fractional: bool) -> Decimal:
    quantum = Decimal("0.000001") if fractional else Decimal(1)
    return value.quantize(quantum, rounding=ROUND_CEILING)


class _Repair:
    def __init__(self, book: Book, options: PlanOptions, tax: TaxInputs | None, intent: Intent) -> None:
        self.book = book
        self.options = options
        self.intent = intent
        self.frac = book.account.fractional
        self.rate = options.costs.rate
        self.commission = options.costs.commission_per_trade
        self.warnings: list[str] = list(intent.warnings)
        self.facts: Mapping[str, LotFacts] = book.facts_by_id
        self.do_not_buy = tax.do_not_buy if tax else frozenset()
        self.blocked = options.exclude_symbols | options.restricted_symbols | self.do_not_buy
        # symbol -> ordered [(facts, shares)]
        self.sells: dict[str, list[tuple[LotFacts, Decimal]]] = {}
        self.buys: dict[str, Decimal] = {}  # symbol -> shares
        self.limits: list[str] = []  # constraints that cut the intended sells, for a refused withdrawal
        self._sell_values: dict[str, Decimal] = {}  # symbol -> sell value; dropped on every change
        self._sold: Decimal | None = None  # value of every sell; dropped on every change

    # -- helpers --------------------------------------------------------------------------------
    def sell_value(self, symbol: str) -> Decimal:
        value = self._sell_values.get(symbol)
        if value is None:
            rows = self.sells[symbol]
            price = rows[0][0].price  # every lot of a symbol has the symbol's price
            value = ZERO
            for _, shares in rows:
                value = value + price * shares
            self._sell_values[symbol] = value
        return value

    def buy_value(self, symbol: str) -> Decimal:
        return self.book.price(symbol) * self.buys[symbol]

    def _sold_bought(self) -> tuple[Decimal, Decimal]:
        sold = self._sold
        if sold is None:
            sold = ZERO
            for symbol in self.sells:
                sold = sold + self.sell_value(symbol)
            self._sold = sold
        bought = ZERO
        prices = self.book.prices
        for symbol, n in self.buys.items():
            bought = bought + prices[symbol] * n
        return sold, bought

    def traded(self) -> Decimal:
        sold, bought = self._sold_bought()
        return sold + bought

    def _costs(self, sold: Decimal, bought: Decimal) -> Decimal:
        n = len(self.sells) + len(self.buys)
        return (sold + bought) * self.rate + self.commission * n

    def costs(self) -> Decimal:
        return self._costs(*self._sold_bought())

    def cash_after(self) -> Decimal:
        sold, bought = self._sold_bought()
        return self.book.cash + sold - bought - self._costs(sold, bought) - self.options.withdraw_amount

    def trim_sell_tail(self, symbol: str, shares: Decimal) -> None:
        """Remove ``shares`` from the end of ``symbol``'s lot order."""
        rows = self.sells[symbol]
        self._sell_values.pop(symbol, None)
        self._sold = None
        while shares > 0 and rows:
            facts, have = rows[-1]
            take = min(have, shares)
            shares -= take
            if have - take > 0:
                rows[-1] = (facts, have - take)
            else:
                rows.pop()
        if not rows:
            del self.sells[symbol]

    def gain(self) -> Decimal:
        total = ZERO
        for rows in self.sells.values():
            for f, s in rows:
                total = total + f.gain_per_share * s
        return total

    def tax(self) -> Decimal:
        total = ZERO
        for rows in self.sells.values():
            for f, s in rows:
                total = total + f.gain_per_share * s * f.rate
        return total

    def small(self, value: Decimal) -> bool:
        if value < self.options.min_trade:
            return True
        return self.intent.drift_driven and value * _HUNDRED / self.book.total < self.options.improvement_threshold

    # -- steps ----------------------------------------------------------------------------------
    def take_sells(self) -> None:
        by_id = self.facts
        excluded = self.options.exclude_symbols
        sells = self.sells
        for lot_id, wanted in self.intent.sell_lots.items():
            facts = by_id.get(lot_id)
            if facts is None:
                self.warnings.append(f"unknown lot {lot_id!r} not sold")
                continue
            lot = facts.lot
            symbol = lot.symbol
            if symbol in excluded:
                self.warnings.append(f"{symbol} is excluded: not sold")
                continue
            have = lot.shares
            shares = have if have < wanted else wanted  # min(wanted, have), without the builtin's call
            if shares != have:
                shares = floor_shares(shares, fractional=self.frac)
            if shares > ZERO:
                rows = sells.get(symbol)
                if rows is None:
                    sells[symbol] = [(facts, shares)]
                else:
                    rows.append((facts, shares))
        self._sell_values.clear()
        self._sold = None
        cap = self.options.max_trade_amount
        if cap is None:
            return
        for symbol in sorted(self.sells):
            price = self.book.price(symbol)
            value = self.sell_value(symbol)
            if value > cap:
                self.trim_sell_tail(symbol, _ceil((value - cap) / price, self.frac))
                self.limits.append(f"max_trade_amount ${cap} caps the sale of {symbol}")

    def enforce_tax_budget(self) -> None:
        budget = self.options.tax_budget
        for limit, measure in ((budget.max_net_gain, "gain"), (budget.max_tax, "tax")):
            if limit is None:
                continue
            for _ in range(10_000):
                excess = (self.gain() if measure == "gain" else self.tax()) - limit
                if excess <= 0:
                    break
                # the symbol whose last lot costs the most per share
                best: tuple[Decimal, str] | None = None
                for symbol, rows in self.sells.items():
                    facts = rows[-1][0]
                    per_share = facts.gain_per_share * (facts.rate if measure == "tax" else 1)
                    if per_share > 0 and (best is None or per_share > best[0]):
                        best = (per_share, symbol)
                if best is None:
                    self.warnings.append(f"tax budget: cannot bring the {measure} under {limit}")
                    break
                self.trim_sell_tail(best[1], _ceil(excess / best[0], self.frac))
                self.limits.append(f"the tax budget caps the {measure} at ${limit}")

    def take_buys(self) -> None:
        sold_groups = {self.book.securities.identical_group(symbol) for symbol in self.sells}
        cap = self.options.max_trade_amount
        for symbol in sorted(self.intent.buys):
            dollars = self.intent.buys[symbol]
            if symbol in self.blocked:
                self.warnings.append(f"{symbol} is excluded, restricted or on the do-not-buy list: not bought")
                continue
            if symbol in self.sells or self.book.securities.identical_group(symbol) in sold_groups:
                self.warnings.append(f"{symbol} is sold (or identical to a sale) in this plan: not bought")
                continue
            price = self.book.price(symbol)
            if cap is not None:
                dollars = min(dollars, cap)
            shares = shares_for_dollars(dollars, price, fractional=self.frac)
            if shares > 0:
                self.buys[symbol] = shares

    def enforce_turnover(self) -> None:
        cap_pct = self.options.turnover_cap
        if cap_pct is None:
            return
        cap = cap_pct * self.book.total / _HUNDRED
        traded = self.traded()
        if traded <= cap:
            return
        factor = cap / traded
        for symbol in list(self.sells):
            total = sum((s for _, s in self.sells[symbol]), ZERO)
            keep = floor_shares(total * factor, fractional=self.frac)
            self.trim_sell_tail(symbol, total - keep)
        for symbol in list(self.buys):
            self.buys[symbol] = floor_shares(self.buys[symbol] * factor, fractional=self.frac)
            if self.buys[symbol] <= 0:
                del self.buys[symbol]
        self.warnings.append(f"turnover capped at {cap_pct}% of the account")
        self.limits.append(f"the turnover cap of {cap_pct}% allows trading ${cap:.2f}")

    def drop_small(self) -> None:
        """Drop trades below ``min_trade`` (or the improvement threshold), after any scaling."""
        if self.options.min_trade <= 0 and self.options.improvement_threshold <= 0:
            return  # nothing is small: every trade's value is positive
        for symbol in sorted(self.sells):
            if self.small(self.sell_value(symbol)):
                del self.sells[symbol]
                self._sell_values.pop(symbol, None)
                self._sold = None
                self.limits.append(f"min_trade ${self.options.min_trade} drops the sale of {symbol}")
        for symbol in sorted(self.buys):
            if self.small(self.buy_value(symbol)):
                del self.buys[symbol]

    def enforce_cash(self) -> None:
        reserve = self.book.account.cash_reserve
        for _ in range(10_000):
            deficit = reserve - self.cash_after()
            if deficit <= 0 or not self.buys:
                break
            symbol = max(self.buys, key=lambda s: (self.buy_value(s), s))
            price = self.book.price(symbol)
            cut = _ceil(deficit / (price * (1 + self.rate)), self.frac)
            self.buys[symbol] -= min(cut, self.buys[symbol])
            if self.buys[symbol] <= 0 or self.small(self.buy_value(symbol)):
                del self.buys[symbol]
        if self.cash_after() < reserve:
            self.warnings.append(
                f"cash after trading ({self.cash_after():.2f}) is below the reserve ({reserve}): not enough to sell"
            )

    def class_values_after(self) -> dict[str, Decimal]:
        book = self.book
        values = dict(book.held_by_class)  # every class of the target, holdings summed in symbol order
        classes = book.classes  # every held symbol (so every sold one)
        for symbol in self.sells:
            values[classes[symbol]] -= self.sell_value(symbol)
        prices = book.prices
        for symbol, n in self.buys.items():
            values[book.class_of(symbol)] += prices[symbol] * n
        values[CASH] += self.cash_after()
        return values

    def top_up(self) -> None:
        """Spend spare cash one whole share at a time where it reduces the squared class drift."""
        if not self.intent.drift_driven or not self.intent.buys:
            return
        reserve = self.book.account.cash_reserve
        cap = self.options.max_trade_amount
        turnover = (
            self.options.turnover_cap * self.book.total / _HUNDRED if self.options.turnover_cap is not None else None
        )
        book = self.book
        # symbol -> (price, class), in symbol order
        candidates = {s: (book.price(s), book.class_of(s)) for s in sorted(self.intent.buys) if s in self.buys}
        step = Decimal(1)
        values = self.class_values_after()  # kept up to date below: each step buys one share
        traded = self.traded()
        spare = self.cash_after() - reserve
        target = book.target
        for _ in range(_TOPUP_STEPS):
            total = sum(values.values(), ZERO)
            goal = {c: target[c] * total / _HUNDRED for c in values}
            best: tuple[Decimal, str] | None = None
            for symbol, (price, cls) in candidates.items():
                cost = price * step * (1 + self.rate)
                if cost > spare or (cap is not None and self.buy_value(symbol) + price * step > cap):
                    continue
                if turnover is not None and traded + price * step > turnover:
                    continue
                before = (values[cls] - goal[cls]) ** 2 + (values[CASH] - goal[CASH]) ** 2
                after = (values[cls] + price * step - goal[cls]) ** 2 + (values[CASH] - cost - goal[CASH]) ** 2
                gain = before - after
                if gain > 0 and (best is None or gain > best[0]):
                    best = (gain, symbol)
            if best is None:
                break
            symbol = best[1]
            price = self.book.price(symbol)
            self.buys[symbol] += step
            values[self.book.class_of(symbol)] += price * step
            values[CASH] -= price * step * (1 + self.rate)
            spare -= price * step * (1 + self.rate)
            traded += price * step

    def run(self) -> None:
        self.take_sells()
        self.enforce_tax_budget()
        self.take_buys()
        self.enforce_turnover()
        self.drop_small()
        self.enforce_cash()
        self.top_up()

    def check_withdrawal(self) -> None:
        """Refuse a withdrawal the sells do not raise in full (cash after it below the reserve)."""
        withdraw = self.options.withdraw_amount
        reserve = self.book.account.cash_reserve
        cash = self.cash_after()
        if withdraw <= 0 or cash >= reserve:
            return
        excluded = self.options.exclude_symbols
        tradable = sum((v for s, v in self.book.holdings.items() if s not in excluded), ZERO)
        causes = list(dict.fromkeys(self.limits))
        if self.book.cash + tradable * (1 - self.rate) < withdraw + reserve:
            what = "the cash and holdings" + (f" (without {', '.join(sorted(excluded))})" if excluded else "")
            causes.append(f"{what} are worth ${self.book.cash + tradable:.2f}")
        raise WithdrawalError(
            f"cannot raise the ${withdraw:.2f} withdrawal: cash after it would be ${cash:.2f}, "
            f"below the ${reserve} reserve" + (f" ({'; '.join(causes)})" if causes else "")
        )


def finalize(
    book: Book,
    options: PlanOptions,
    tax: TaxInputs | None,
    intent: Intent,
    *,
    solver: str,
) -> RebalancePlan:
    """Round ``intent`` to shares, repair it to keep every constraint, and explain each trade."""
    rep = _Repair(book, options, tax, intent)
    rep.run()
    rep.check_withdrawal()
    before_values = book.class_values()
    before = allocation(before_values)
    after_values = rep.class_values_after()
    after = allocation(after_values)
    target: Mapping[str, Decimal] = book.target
    taxable = book.account.taxable
    trades: list[Trade] = []
    drift: dict[str, str] = {}  # class -> its drift phrase (the same for every trade of the class)
    washed = {f.lot.symbol for f in book.lots if f.washed}
    purpose = intent.purpose
    sells = rep.sells
    symbols = sorted(sells)
    # the plan's realized gain and tax are summed here, lot by lot, in the order _Repair.gain() and
    # tax() sum them (the sells' order) when that is symbol order, as it is for every method but the
    # cash-flow rules: Decimal sums are exact only up to the context's precision, so order matters
    in_order = list(sells) == symbols
    total_gain = total_tax = ZERO
    for symbol in symbols:
        price = book.prices[symbol]
        sales = []
        shares = gain = est = ZERO
        for (lot, _, term, gain_per_share, rate, _, _), s in sells[symbol]:
            lot_gain = gain_per_share * s
            lot_tax = lot_gain * rate
            sales.append(lot_sale(lot.lot_id, s, lot_gain, term))
            shares = shares + s
            gain = gain + lot_gain
            est = est + lot_tax
            total_gain = total_gain + lot_gain
            total_tax = total_tax + lot_tax
        cls = book.class_of(symbol)
        phrase = drift.get(cls)
        if phrase is None:
            phrase = drift[cls] = drift_phrase(cls, before, after, target)
        why = purpose.get(symbol)
        kept: tuple[str, ...] = ()
        if symbol in washed:
            sold_ids = {lot.lot_id for lot in sales}
            kept = tuple(f.lot_id for f in book.lots_of(symbol) if f.washed and f.lot_id not in sold_ids)
        lots = tuple(sales)
        # the text (every lot's phrase, the tax phrase) is built when the reason is first read
        reason = sell_reason((why, phrase) if why else (phrase,), lots, gain, est, taxable, kept)
        trades.append(trade(symbol, TradeAction.SELL, shares, price, shares * price, lots, reason))
    if not in_order:
        total_gain, total_tax = rep.gain(), rep.tax()
    for symbol in sorted(rep.buys):
        price = book.prices[symbol]
        shares = rep.buys[symbol]
        cls = book.class_of(symbol)
        phrase = drift.get(cls)
        if phrase is None:
            phrase = drift[cls] = drift_phrase(cls, before, after, target)
        why = purpose.get(symbol)
        parts = [why, phrase] if why else [phrase]
        parts.append(f"buys {shares!s} sh at ${price!s}")  # str: the same text, cheaper
        trades.append(trade(symbol, TradeAction.BUY, shares, price, shares * price, (), "; ".join(parts)))
    devs = deviations(before, target)
    return RebalancePlan(
        account_id=book.account.account_id,
        mode=options.mode.value,
        needs_rebalancing=any_out_of_band(devs, target, options.band),
        deviations=devs,
        trades=tuple(trades),
        estimated_tax=total_tax if taxable else ZERO,
        realized_gain=total_gain,
        estimated_costs=rep.costs(),
        before=before,
        after=after,
        cash_after=rep.cash_after(),
        solver=solver,
        warnings=tuple(dict.fromkeys(rep.warnings)),
    )
