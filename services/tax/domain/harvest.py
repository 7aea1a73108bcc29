"""Tax-loss harvesting: candidates, replacement securities and the do-not-buy list.

A lot is a candidate when its unrealized loss is at least ``min_loss_percent`` of its basis *and* at
least ``min_loss_amount`` dollars, in a taxable account, and no purchase of a substantially identical
security in the last 30 days (any household account, other than the lot itself) or pending purchase
would wash it. Its replacement is the first security the securities master lists in the same category
with a different identical group that is not restricted (on the do-not-buy list, or identical to another
candidate being harvested). The saving is the loss at the marginal rate of its term, less trading costs:
``trading_cost_bps`` on the sale and on the replacement purchase (twice the market value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from shared.costs import DEFAULT_COSTS
from shared.holding_period import Term
from shared.securities import SecurityMaster

from .positions import LotPosition
from .rates import MarginalRates

__all__ = [
    "DO_NOT_BUY_DAYS",
    "HarvestCandidate",
    "HarvestThresholds",
    "Restriction",
    "do_not_buy_after",
    "find_harvest_candidates",
    "merge_restrictions",
]

DO_NOT_BUY_DAYS = 31
"""A loss sale on day D is washed by purchases through D+30; the first safe purchase day is D+31."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HarvestThresholds:
    """``min_loss_percent`` in percent of basis (5 = 5%); ``min_loss_amount`` in dollars;
    ``trading_cost_bps`` in basis points of traded value, charged on the sale and on the replacement buy
    (default: one side of the shared cost model, :data:`shared.costs.DEFAULT_COSTS`)."""

    min_loss_percent: Decimal = Decimal("5")
    min_loss_amount: Decimal = Decimal("500")
    trading_cost_bps: Decimal = DEFAULT_COSTS.rate * 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Restriction:
    """Do not buy ``symbol`` before ``until`` (the first date a purchase no longer washes the loss sale of
    ``sold_symbol`` on ``sale_date``)."""

    symbol: str
    until: date
    sold_symbol: str
    sale_date: date
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HarvestCandidate:
    """A lot worth selling for its loss. Amounts in dollars; ``loss`` is positive; ``rate`` a fraction."""

    lot_id: str
    symbol: str
    shares: Decimal
    market_value: Decimal
    cost_basis: Decimal
    loss: Decimal
    loss_percent: Decimal
    term: Term
    rate: Decimal
    gross_saving: Decimal
    trading_cost: Decimal
    net_saving: Decimal
    replacement: str | None
    replacement_reason: str
    do_not_buy: tuple[Restriction, ...]


def do_not_buy_after(sold_symbol: str, sale_date: date, securities: SecurityMaster) -> tuple[Restriction, ...]:
    """Every symbol substantially identical to ``sold_symbol`` (itself included), until sale + 31 days."""
    group = securities.identical_group(sold_symbol)
    symbols = {sold_symbol} | {s for s in securities if securities.identical_group(s) == group}
    until = sale_date + timedelta(days=DO_NOT_BUY_DAYS)
    reason = f"loss sale of {sold_symbol} on {sale_date.isoformat()}"
    return tuple(
        Restriction(symbol=s, until=until, sold_symbol=sold_symbol, sale_date=sale_date, reason=reason)
        for s in sorted(symbols)
    )


def merge_restrictions(restrictions: Iterable[Restriction]) -> tuple[Restriction, ...]:
    """One restriction per symbol, the latest ``until`` kept (ties: earliest sale, then sold symbol)."""
    best: dict[str, Restriction] = {}
    for r in restrictions:
        kept = best.get(r.symbol)
        if kept is None or (r.until, kept.sale_date, kept.sold_symbol) > (
            kept.until,
            r.sale_date,
            r.sold_symbol,
        ):
            best[r.symbol] = r
    return tuple(best[s] for s in sorted(best))


def _replacement(
    symbol: str, securities: SecurityMaster, restricted: set[str], harvested_groups: set[str]
) -> tuple[str | None, str]:
    if symbol not in securities:
        return None, f"{symbol} is not in the securities master: no replacement known"
    options = securities.replacements(symbol)
    if not options:
        return None, f"no security in {symbol}'s category outside its identical group"
    for option in options:
        if option.symbol in restricted:
            continue
        if securities.identical_group(option.symbol) in harvested_groups:
            continue
        return option.symbol, f"same category ({option.category}), different index ({option.identical_group})"
    listed = ", ".join(o.symbol for o in options)
    return None, f"every replacement ({listed}) is restricted by a recent or planned loss sale"


def find_harvest_candidates(
    positions: Sequence[LotPosition],
    *,
    rates: MarginalRates,
    thresholds: HarvestThresholds,
    securities: SecurityMaster,
    as_of: date,
    restricted: Mapping[str, date],
    blocked: Mapping[str, str],
) -> tuple[HarvestCandidate, ...]:
    """Candidates among ``positions`` (one taxable account), largest loss first.

    ``restricted``: symbol -> first safe purchase date (the do-not-buy list). ``blocked``: lot_id -> why a
    recent or pending purchase would wash its sale.
    """
    eligible = [
        p
        for p in positions
        if p.unrealized_gain < 0
        and -p.unrealized_gain >= thresholds.min_loss_amount
        and -p.unrealized_percent >= thresholds.min_loss_percent
        and p.lot_id not in blocked
    ]
    eligible.sort(key=lambda p: (p.unrealized_gain, p.symbol, p.lot_id))
    harvested = {securities.identical_group(p.symbol) for p in eligible}
    active = {s for s, until in restricted.items() if until > as_of}
    candidates = []
    for p in eligible:
        loss = -p.unrealized_gain
        rate = rates.rate_for(p.term, collectible=p.collectible)
        gross = loss * rate
        cost = 2 * p.market_value * thresholds.trading_cost_bps / Decimal(10000)
        replacement, why = _replacement(p.symbol, securities, active, harvested)
        candidates.append(
            HarvestCandidate(
                lot_id=p.lot_id,
                symbol=p.symbol,
                shares=p.shares,
                market_value=p.market_value,
                cost_basis=p.cost_basis,
                loss=loss,
                loss_percent=-p.unrealized_percent,
                term=p.term,
                rate=rate,
                gross_saving=gross,
                trading_cost=cost if replacement else cost / 2,
                net_saving=gross - (cost if replacement else cost / 2),
                replacement=replacement,
                replacement_reason=why,
                do_not_buy=do_not_buy_after(p.symbol, as_of, securities),
            )
        )
    return tuple(candidates)
