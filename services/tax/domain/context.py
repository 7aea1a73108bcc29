"""The ``tax-context`` step: what the rebalancer must know about one account's taxes before it plans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from shared.holding_period import Term
from shared.lot_ledger.accounts import AccountType, LotMethod
from shared.lot_ledger.ledger import WASH_WINDOW_DAYS
from shared.lot_ledger.lots import Lot
from shared.lot_ledger.transactions import Action
from shared.money import ZERO
from shared.securities import SecurityMaster, default_securities

from .harvest import (
    DO_NOT_BUY_DAYS,
    HarvestCandidate,
    HarvestThresholds,
    Restriction,
    do_not_buy_after,
    find_harvest_candidates,
    merge_restrictions,
)
from .positions import LotPosition, value_lots
from .rates import MarginalRates, RateOverrides, TaxProfile, marginal_rates

__all__ = ["ContextTotals", "RecentTransaction", "TaxAccount", "TaxContext", "WashRisk", "build_tax_context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxAccount:
    """The account being planned: its open lots and its default lot relief method."""

    account_id: str
    account_type: AccountType = AccountType.TAXABLE
    lots: tuple[Lot, ...] = ()
    lot_method: LotMethod = LotMethod.FIFO
    overrides: RateOverrides | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentTransaction:
    """A household trade of the last 30 days (any account, this one included). ``realized_gain`` (dollars,
    negative for a loss) is needed on sells; ``lot_id`` names the lot bought or sold when known."""

    trade_date: date
    account_id: str
    symbol: str
    action: Action
    shares: Decimal
    account_type: AccountType = AccountType.TAXABLE
    realized_gain: Decimal | None = None
    lot_id: str | None = None

    @property
    def is_loss_sale(self) -> bool:
        return (
            self.action is Action.SELL
            and not self.account_type.is_ira
            and self.realized_gain is not None
            and self.realized_gain < 0
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WashRisk:
    """Selling ``symbol`` at a loss before ``until`` would be washed by the purchase of ``purchase_symbol``
    on ``purchase_date`` in ``account_id`` (permanently when that account is an IRA)."""

    symbol: str
    purchase_symbol: str
    purchase_date: date
    account_id: str
    lot_id: str | None
    shares: Decimal | None
    until: date
    permanent: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextTotals:
    """Dollar totals over the account's lots. Gains and losses are positive amounts."""

    market_value: Decimal
    cost_basis: Decimal
    unrealized_gain: Decimal
    unrealized_short_term: Decimal
    unrealized_long_term: Decimal
    unrealized_gains: Decimal
    unrealized_losses: Decimal
    harvestable_losses: Decimal
    harvest_net_savings: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxContext:
    as_of: date
    account: TaxAccount
    profile: TaxProfile
    rates: MarginalRates
    lots: tuple[LotPosition, ...]
    do_not_buy: tuple[Restriction, ...]
    """Symbols whose purchase would wash a household loss sale of the last 30 days; first safe dates."""
    washed_by_recent_purchase: tuple[WashRisk, ...]
    """Symbols held here whose loss sale a household purchase of the last 30 days would wash."""
    harvest_candidates: tuple[HarvestCandidate, ...]
    totals: ContextTotals
    prices: Mapping[str, Decimal]
    recent_transactions: tuple[RecentTransaction, ...] = ()
    pending_purchases: tuple[str, ...] = ()
    thresholds: HarvestThresholds = field(default_factory=HarvestThresholds)

    @property
    def taxable(self) -> bool:
        return not self.account.account_type.is_ira


def _recent_purchases(
    account: TaxAccount, transactions: Iterable[RecentTransaction], as_of: date
) -> list[RecentTransaction]:
    """Household acquisitions in [as_of - 30, as_of], plus this account's own lots acquired then."""
    earliest = as_of - timedelta(days=WASH_WINDOW_DAYS)
    purchases = [t for t in transactions if t.action.is_acquisition and earliest <= t.trade_date <= as_of]
    known = {(t.account_id, t.lot_id) for t in purchases if t.lot_id}
    for lot in account.lots:
        if earliest <= lot.acquired <= as_of and (account.account_id, lot.lot_id) not in known:
            purchases.append(
                RecentTransaction(
                    trade_date=lot.acquired,
                    account_id=account.account_id,
                    account_type=account.account_type,
                    symbol=lot.symbol,
                    action=Action.BUY,
                    shares=lot.shares,
                    lot_id=lot.lot_id,
                )
            )
    return sorted(purchases, key=lambda t: (t.trade_date, t.account_id, t.symbol, t.lot_id or ""))


def _wash_risks(
    account: TaxAccount, purchases: list[RecentTransaction], securities: SecurityMaster
) -> tuple[WashRisk, ...]:
    held = sorted({lot.symbol for lot in account.lots})
    return tuple(
        WashRisk(
            symbol=symbol,
            purchase_symbol=p.symbol,
            purchase_date=p.trade_date,
            account_id=p.account_id,
            lot_id=p.lot_id,
            shares=p.shares,
            until=p.trade_date + timedelta(days=DO_NOT_BUY_DAYS),
            permanent=p.account_type.is_ira,
        )
        for symbol in held
        for p in purchases
        if securities.substantially_identical(symbol, p.symbol)
    )


def build_tax_context(
    *,
    account: TaxAccount,
    prices: Mapping[str, Decimal],
    as_of: date,
    profile: TaxProfile,
    household_transactions: Iterable[RecentTransaction] = (),
    thresholds: HarvestThresholds | None = None,
    securities: SecurityMaster | None = None,
    pending_purchases: Iterable[str] = (),
) -> TaxContext:
    """Value the account's lots and find its wash-sale restrictions and harvest candidates on ``as_of``.

    ``prices``: dollars per share by symbol (the day's close). ``pending_purchases``: symbols with a
    purchase already scheduled in the household (e.g. dividend reinvestment), which block harvesting them.
    Rates use the table of ``as_of.year`` (the nearest table when that year has none).
    """
    securities = securities or default_securities()
    thresholds = thresholds or HarvestThresholds()
    transactions = tuple(household_transactions)
    pending = tuple(sorted(set(pending_purchases)))
    rates = marginal_rates(profile, year=as_of.year, overrides=account.overrides)
    positions = value_lots(account.lots, prices, as_of=as_of, securities=securities)
    earliest = as_of - timedelta(days=WASH_WINDOW_DAYS)
    loss_sales = [t for t in transactions if t.is_loss_sale and earliest <= t.trade_date <= as_of]
    do_not_buy = merge_restrictions(r for t in loss_sales for r in do_not_buy_after(t.symbol, t.trade_date, securities))
    risks = _wash_risks(account, _recent_purchases(account, transactions, as_of), securities)
    candidates: tuple[HarvestCandidate, ...] = ()
    if not account.account_type.is_ira:
        blocked: dict[str, str] = {}
        for p in positions:
            for risk in risks:
                if risk.symbol == p.symbol and (risk.account_id, risk.lot_id) != (
                    account.account_id,
                    p.lot_id,
                ):
                    blocked.setdefault(p.lot_id, f"purchase of {risk.purchase_symbol} on {risk.purchase_date}")
            for symbol in pending:
                if securities.substantially_identical(symbol, p.symbol):
                    blocked.setdefault(p.lot_id, f"pending purchase of {symbol}")
        candidates = find_harvest_candidates(
            positions,
            rates=rates,
            thresholds=thresholds,
            securities=securities,
            as_of=as_of,
            restricted={r.symbol: r.until for r in do_not_buy},
            blocked=blocked,
        )
    gains = [p.unrealized_gain for p in positions]
    return TaxContext(
        as_of=as_of,
        account=account,
        profile=profile,
        rates=rates,
        lots=positions,
        do_not_buy=do_not_buy,
        washed_by_recent_purchase=risks,
        harvest_candidates=candidates,
        totals=ContextTotals(
            market_value=sum((p.market_value for p in positions), ZERO),
            cost_basis=sum((p.cost_basis for p in positions), ZERO),
            unrealized_gain=sum(gains, ZERO),
            unrealized_short_term=sum((p.unrealized_gain for p in positions if p.term is Term.SHORT), ZERO),
            unrealized_long_term=sum((p.unrealized_gain for p in positions if p.term is Term.LONG), ZERO),
            unrealized_gains=sum((g for g in gains if g > 0), ZERO),
            unrealized_losses=-sum((g for g in gains if g < 0), ZERO),
            harvestable_losses=sum((c.loss for c in candidates), ZERO),
            harvest_net_savings=sum((c.net_saving for c in candidates if c.net_saving > 0), ZERO),
        ),
        prices=dict(prices),
        recent_transactions=transactions,
        pending_purchases=pending,
        thresholds=thresholds,
    )
