"""The ``tax-optimization`` step: the tax impact of a proposed plan and a wash-sale check of every trade.

Per-lot tax uses the marginal rate of the lot's term (losses save tax at that rate, assuming gains of the
year to absorb them); the plan also carries a stacked estimate through the brackets
(:func:`~.rates.estimate_tax`). A sell at a loss is washed by replacement shares acquired 30 days before
(recent household purchases not sold in this plan, other than the lot itself) or on the as-of date (the
plan's buys), matched earliest first, one share for one share, plus any pending purchase; a buy is flagged
when it would wash a household loss sale of the last 30 days or a loss sale in this plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from shared.holding_period import Term
from shared.lot_ledger.errors import TaxDomainError
from shared.lot_ledger.ledger import WASH_WINDOW_DAYS
from shared.lot_ledger.lots import Lot
from shared.lot_ledger.relief import relief_order
from shared.money import ZERO, cents
from shared.securities import SecurityMaster, default_securities

from .context import TaxContext, _recent_purchases
from .harvest import Restriction, do_not_buy_after, merge_restrictions
from .rates import TaxEstimate, estimate_tax

__all__ = [
    "LotEffect",
    "PlanEvaluation",
    "ProposedBuy",
    "ProposedSell",
    "TaxOptimizationSummary",
    "WashFinding",
    "evaluate_plan",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposedSell:
    """Sell ``shares`` of ``symbol``: from ``lot_id``, or by the account's lot method when None.
    ``price`` (dollars per share) defaults to the context's price."""

    symbol: str
    shares: Decimal
    lot_id: str | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposedBuy:
    symbol: str
    shares: Decimal
    price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LotEffect:
    """The realized result of selling ``shares`` of one lot. ``gain`` is after the estimated wash-sale
    disallowance; ``estimated_tax`` = gain x ``rate`` (negative: tax saved); zero inside an IRA."""

    lot_id: str
    symbol: str
    shares: Decimal
    proceeds: Decimal
    cost_basis: Decimal
    wash_sale_disallowed: Decimal
    gain: Decimal
    term: Term
    rate: Decimal
    estimated_tax: Decimal
    collectible: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class WashFinding:
    """``trade`` is "sell" (a loss sale, would it be washed) or "buy" (would it wash a loss sale)."""

    trade: str
    symbol: str
    lot_id: str | None
    washed: bool
    permanent: bool
    disallowed_loss: Decimal
    conflicts: tuple[str, ...]
    message: str
    permanently_disallowed: Decimal = ZERO
    """The part of ``disallowed_loss`` matched with IRA purchases (lost for good)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxOptimizationSummary:
    """The original workflow's ``TaxOptimization``, for the plan: ``harvestable_gains`` = gains the plan
    realizes, ``harvestable_losses`` = allowed losses it realizes, ``tax_savings`` = tax those losses save
    (all positive dollars); ``wash_sale_risk`` only when some trade is (or would be) washed."""

    harvestable_gains: Decimal
    harvestable_losses: Decimal
    tax_savings: Decimal
    recommendations: tuple[str, ...]
    wash_sale_risk: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanEvaluation:
    as_of: date
    account_id: str
    effects: tuple[LotEffect, ...]
    estimated_tax: Decimal
    tax_savings: Decimal
    stacked_estimate: TaxEstimate
    wash_findings: tuple[WashFinding, ...]
    do_not_buy: tuple[Restriction, ...]
    """The context's restrictions plus those the plan's loss sales create."""
    summary: TaxOptimizationSummary


def _allocate(context: TaxContext, sells: Sequence[ProposedSell]) -> list[tuple[Lot, Decimal, Decimal]]:
    """(lot, shares sold, price) for every lot a sell relieves; lots are consumed across sells."""
    remaining = {lot.lot_id: lot.shares for lot in context.account.lots}
    result = []
    for sell in sells:
        price = sell.price if sell.price is not None else context.prices.get(sell.symbol)
        if price is None:
            raise TaxDomainError(f"no price for {sell.symbol}")
        lots = [lot for lot in context.account.lots if lot.symbol == sell.symbol and remaining[lot.lot_id] > 0]
        if sell.lot_id is not None:
            lots = [lot for lot in lots if lot.lot_id == sell.lot_id]
            if not lots:
                raise TaxDomainError(f"no open lot {sell.lot_id!r} of {sell.symbol} in {context.account.account_id}")
        order = relief_order(lots, context.account.lot_method, sale_date=context.as_of, net_price=price)
        left = sell.shares
        for index in order:
            lot = lots[index]
            take = min(left, remaining[lot.lot_id])
            if take > 0:
                remaining[lot.lot_id] -= take
                result.append((lot, take, price))
                left -= take
        if left > 0:
            raise TaxDomainError(f"selling {sell.shares} {sell.symbol} but only {sell.shares - left} held")
    return result


def evaluate_plan(
    context: TaxContext,
    *,
    sells: Sequence[ProposedSell] = (),
    buys: Sequence[ProposedBuy] = (),
    securities: SecurityMaster | None = None,
) -> PlanEvaluation:
    """Tax impact and wash-sale findings of trading ``sells`` and ``buys`` on ``context.as_of``."""
    sec = securities or default_securities()
    as_of, account = context.as_of, context.account
    sold = _allocate(context, sells)
    sold_ids = {lot.lot_id for lot, _, _ in sold}
    earliest = as_of - timedelta(days=WASH_WINDOW_DAYS)
    # replacement shares available, earliest first: recent purchases not sold here, then the plan's buys
    pool: list[list[object]] = [
        [
            p.symbol,
            p.shares or ZERO,
            f"{p.symbol} bought {p.trade_date} in {p.account_id}",
            p.account_type.is_ira,
            (p.account_id, p.lot_id),
        ]
        for p in _recent_purchases(account, context.recent_transactions, as_of)
        if not (p.account_id == account.account_id and p.lot_id in sold_ids)
    ]
    pool += [[b.symbol, b.shares, f"{b.symbol} bought in this plan", account.account_type.is_ira, None] for b in buys]
    effects: list[LotEffect] = []
    findings: list[WashFinding] = []
    new_restrictions: list[Restriction] = []
    for lot, shares, price in sold:
        basis = lot.adjusted_basis if shares == lot.shares else lot.adjusted_basis * shares / lot.shares
        proceeds = shares * price
        term = lot.term_on(as_of)
        security = sec.get(lot.symbol)
        collectible = bool(security and security.collectible)
        rate = context.rates.rate_for(term, collectible=collectible)
        disallowed = ZERO
        if context.taxable and proceeds < basis:
            loss, matched, conflicts, permanent, in_iras = basis - proceeds, ZERO, [], False, ZERO
            for entry in pool:
                symbol, available, label, in_ira, key = entry
                assert isinstance(available, Decimal)
                if key == (account.account_id, lot.lot_id) or not sec.substantially_identical(str(symbol), lot.symbol):
                    continue
                if available > 0 and matched < shares:
                    take = min(available, shares - matched)
                    entry[1] = available - take
                    matched += take
                    conflicts.append(str(label))
                    permanent = permanent or bool(in_ira)
                    in_iras += take if in_ira else ZERO
            pending = [s for s in context.pending_purchases if sec.substantially_identical(s, lot.symbol)]
            if pending and matched < shares:
                matched = shares
                conflicts += [f"pending purchase of {s}" for s in pending]
            disallowed = loss * matched / shares
            washed = matched > 0
            what = f"Loss of ${cents(loss)} on {lot.symbol} ({lot.lot_id})"
            message = (
                f"{what} would be washed: ${cents(disallowed)} disallowed by {', '.join(conflicts)}"
                + (" (permanently: IRA purchase)" if permanent else "")
                if washed
                else f"{what} is not washed by any recent or planned purchase"
            )
            findings.append(
                WashFinding(
                    trade="sell",
                    symbol=lot.symbol,
                    lot_id=lot.lot_id,
                    washed=washed,
                    permanent=permanent,
                    disallowed_loss=disallowed,
                    conflicts=tuple(conflicts),
                    message=message,
                    permanently_disallowed=loss * in_iras / shares,
                )
            )
            new_restrictions += do_not_buy_after(lot.symbol, as_of, sec)
        gain = proceeds - basis + disallowed
        tax = gain * rate if context.taxable else ZERO
        effects.append(
            LotEffect(
                lot_id=lot.lot_id,
                symbol=lot.symbol,
                shares=shares,
                proceeds=proceeds,
                cost_basis=basis,
                wash_sale_disallowed=disallowed,
                gain=gain,
                term=term,
                rate=rate,
                estimated_tax=tax,
                collectible=collectible,
            )
        )
    loss_sales = [t for t in context.recent_transactions if t.is_loss_sale and earliest <= t.trade_date <= as_of]
    plan_losses = [e for e in effects if e.proceeds < e.cost_basis] if context.taxable else []
    for buy in buys:
        conflicts = [
            f"loss sale of {t.symbol} on {t.trade_date} in {t.account_id}"
            for t in loss_sales
            if sec.substantially_identical(t.symbol, buy.symbol)
        ]
        conflicts += [
            f"loss sale of {e.symbol} ({e.lot_id}) in this plan"
            for e in plan_losses
            if sec.substantially_identical(e.symbol, buy.symbol)
        ]
        washed = bool(conflicts)
        permanent = washed and account.account_type.is_ira
        message = (
            f"Buying {buy.symbol} would wash the {', '.join(conflicts)}" + (" permanently (IRA)" if permanent else "")
            if washed
            else f"Buying {buy.symbol} washes no recent loss sale"
        )
        findings.append(
            WashFinding(
                trade="buy",
                symbol=buy.symbol,
                lot_id=None,
                washed=washed,
                permanent=permanent,
                disallowed_loss=ZERO,
                conflicts=tuple(conflicts),
                message=message,
            )
        )
    return _finish(context, effects, findings, new_restrictions, sold_ids)


def _finish(
    context: TaxContext,
    effects: list[LotEffect],
    findings: list[WashFinding],
    new_restrictions: list[Restriction],
    sold_ids: set[str],
) -> PlanEvaluation:
    taxable = context.taxable
    gains = sum((e.gain for e in effects if e.gain > 0), ZERO) if taxable else ZERO
    losses = -sum((e.gain for e in effects if e.gain < 0), ZERO) if taxable else ZERO
    savings = -sum((e.estimated_tax for e in effects if e.estimated_tax < 0), ZERO)
    st = sum((e.gain for e in effects if e.term is Term.SHORT), ZERO) if taxable else ZERO
    lt = sum((e.gain for e in effects if e.term is Term.LONG), ZERO) if taxable else ZERO
    collectible = sum((e.gain for e in effects if e.term is Term.LONG and e.collectible), ZERO) if taxable else ZERO
    stacked = estimate_tax(
        context.profile,
        year=context.rates.tax_year,
        short_term=st,
        long_term=lt,
        collectible_long_term=collectible,
    )
    restrictions = merge_restrictions([*context.do_not_buy, *new_restrictions])
    recs: list[str] = []
    for e in effects:
        if taxable and e.gain < 0:
            recs.append(
                f"Harvest ${cents(-e.gain)} {e.term.value}-term loss in {e.symbol} ({e.lot_id}): "
                f"saves about ${cents(-e.estimated_tax)}"
            )
        elif taxable and e.gain > 0:
            recs.append(
                f"Realizes ${cents(e.gain)} {e.term.value}-term gain in {e.symbol} ({e.lot_id}): "
                f"about ${cents(e.estimated_tax)} tax"
            )
    recs += [f.message for f in findings if f.washed]
    for c in context.harvest_candidates:
        if c.lot_id not in sold_ids and c.net_saving > 0:
            swap = f", replace with {c.replacement}" if c.replacement else f" ({c.replacement_reason})"
            recs.append(
                f"Consider harvesting ${cents(c.loss)} loss in {c.symbol} ({c.lot_id}){swap}: "
                f"saves about ${cents(c.net_saving)} after costs"
            )
    if new_restrictions:
        symbols = sorted({r.symbol for r in new_restrictions})
        until = max(r.until for r in new_restrictions)
        recs.append(f"Do not buy {', '.join(symbols)} in any household account before {until.isoformat()}")
    return PlanEvaluation(
        as_of=context.as_of,
        account_id=context.account.account_id,
        effects=tuple(effects),
        estimated_tax=sum((e.estimated_tax for e in effects), ZERO),
        tax_savings=savings,
        stacked_estimate=stacked,
        wash_findings=tuple(findings),
        do_not_buy=restrictions,
        summary=TaxOptimizationSummary(
            harvestable_gains=gains,
            harvestable_losses=losses,
            tax_savings=savings,
            recommendations=tuple(recs),
            wash_sale_risk=any(f.washed for f in findings),
        ),
    )
