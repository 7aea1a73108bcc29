"""Translate between the bus contracts and the tax engine's own types (both directions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from contracts import AccountSnapshot, HarvestCandidate, LotSale, LotTax, TaxReview, Trade, Transaction
from contracts import TaxContext as ContractContext
from contracts import TaxProfile as ContractProfile
from contracts import WashSaleAdjustment as ContractAdjustment
from services.tax.domain import (
    AccountType,
    Action,
    FilingStatus,
    Lot,
    LotMethod,
    PlanEvaluation,
    ProposedBuy,
    ProposedSell,
    RateOverrides,
    RecentTransaction,
    TaxAccount,
    TaxContext,
    TaxProfile,
)
from shared.money import ZERO

__all__ = [
    "context_to_contract",
    "evaluation_to_review",
    "profile_of",
    "recent_of",
    "tax_account_of",
    "trades_of",
]


def tax_account_of(account: AccountSnapshot) -> TaxAccount:
    """The engine's account. Contract lots carry the adjusted basis; the engine keeps the adjustment apart."""
    profile = account.tax_profile
    return TaxAccount(
        account_id=account.account_id,
        account_type=AccountType(account.account_type),
        lots=tuple(
            Lot(
                lot_id=lot.lot_id,
                symbol=lot.symbol,
                shares=lot.shares,
                cost_basis=lot.cost_basis - lot.wash_sale_adjustment,
                acquired=lot.acquired,
                account_id=account.account_id,
                holding_period_start=lot.holding_period_start,
                wash_sale_adjustment=lot.wash_sale_adjustment,
            )
            for lot in account.lots
        ),
        lot_method=LotMethod.parse(account.lot_method),
        overrides=RateOverrides(
            federal_marginal_rate=profile.federal_short_term_rate,
            federal_long_term_rate=profile.federal_long_term_rate,
            state_rate=None,
        ),
    )


def profile_of(profile: ContractProfile) -> TaxProfile:
    return TaxProfile(
        filing_status=FilingStatus.parse(profile.filing_status),
        taxable_income=profile.taxable_income,
        magi=profile.magi,
        state_rate=profile.state_rate,
    )


def recent_of(transactions: Iterable[Transaction]) -> list[RecentTransaction]:
    return [
        RecentTransaction(
            trade_date=t.date,
            account_id=t.account_id,
            symbol=t.symbol,
            action=Action(t.action),
            shares=t.shares,
            account_type=AccountType(t.account_type),
            realized_gain=t.realized_gain,
            lot_id=t.lot_id or None,
        )
        for t in transactions
    ]


def context_to_contract(context: TaxContext) -> ContractContext:
    taxable = context.taxable
    blocked = sorted({risk.symbol for risk in context.washed_by_recent_purchase})
    return ContractContext(
        as_of=context.as_of,
        taxable=taxable,
        short_term_rate=context.rates.short_term if taxable else ZERO,
        long_term_rate=context.rates.long_term if taxable else ZERO,
        lots=[
            LotTax(
                lot_id=p.lot_id,
                symbol=p.symbol,
                shares=p.shares,
                cost_basis=p.cost_basis,
                price=p.price,
                market_value=p.market_value,
                unrealized_gain=p.unrealized_gain,
                term=p.term.value,
                days_to_long_term=p.days_to_long_term,
                loss_sale_would_wash=p.symbol in blocked and p.unrealized_gain < 0,
            )
            for p in context.lots
        ],
        do_not_buy={r.symbol: r.until for r in context.do_not_buy},
        wash_sale_blocked_symbols=blocked,
        harvest_candidates=[
            HarvestCandidate(
                lot_id=c.lot_id,
                symbol=c.symbol,
                shares=c.shares,
                loss=c.loss,
                term=c.term.value,
                replacement=c.replacement,
                estimated_saving=c.net_saving,
                reason=c.replacement_reason,
            )
            for c in context.harvest_candidates
        ]
        if taxable
        else [],
        unrealized_gains=context.totals.unrealized_gains,
        unrealized_losses=context.totals.unrealized_losses,
    )


def trades_of(trades: Sequence[Trade]) -> tuple[list[ProposedSell], list[ProposedBuy]]:
    sells = [
        ProposedSell(symbol=t.symbol, shares=lot.shares, lot_id=lot.lot_id, price=t.price)
        for t in trades
        if t.action == "sell"
        for lot in t.lots
    ]
    buys = [ProposedBuy(symbol=t.symbol, shares=t.shares, price=t.price) for t in trades if t.action == "buy"]
    return sells, buys


def evaluation_to_review(
    evaluation: PlanEvaluation, context: TaxContext, as_of: date, planned_lots: Mapping[str, date]
) -> TaxReview:
    """The tax-optimization step's result. The original workflow's summary fields describe the account
    (embedded gains, losses worth harvesting and what harvesting them saves); ``estimated_tax`` and the
    lots describe the plan."""
    totals = context.totals
    summary = evaluation.summary
    realized = {"short": ZERO, "long": ZERO}
    for effect in evaluation.effects:
        realized[effect.term.value] += effect.gain
    adjustments = []
    for finding in evaluation.wash_findings:
        if finding.trade != "sell" or not finding.washed or finding.disallowed_loss <= 0:
            continue
        risk = next((r for r in context.washed_by_recent_purchase if r.symbol == finding.symbol), None)
        # the IRA part (lost for good) and the rest (into a replacement's basis), as separate adjustments
        parts = [
            (finding.permanently_disallowed, True),
            (finding.disallowed_loss - finding.permanently_disallowed, False),
        ]
        for amount, permanent in parts:
            if amount <= 0:
                continue
            adjustments.append(
                ContractAdjustment(
                    sold_lot_id=finding.lot_id or "",
                    symbol=finding.symbol,
                    disallowed=amount,
                    replacement_account_id=risk.account_id if risk else "",
                    replacement_lot_id=(risk.lot_id or "") if risk else "",
                    permanent=permanent,
                    reason=finding.message,
                )
            )
    recommendations = list(summary.recommendations)
    for candidate in context.harvest_candidates:
        if candidate.replacement:
            recommendations.append(
                f"Consider harvesting the loss in {candidate.symbol} lot {candidate.lot_id}: "
                f"${abs(candidate.loss):,.2f} ({candidate.term.value}-term), "
                f"replace with {candidate.replacement}; est. net saving ${candidate.net_saving:,.2f}"
            )
    return TaxReview(
        harvestable_gains=totals.unrealized_gains,
        harvestable_losses=totals.harvestable_losses,
        tax_savings=totals.harvest_net_savings + summary.tax_savings,
        recommendations=recommendations,
        wash_sale_risk=summary.wash_sale_risk,
        estimated_tax=evaluation.estimated_tax,
        realized_short_term=realized["short"],
        realized_long_term=realized["long"],
        lots=[
            LotSale(
                lot_id=e.lot_id,
                shares=e.shares,
                cost_basis=e.cost_basis,
                gain=e.gain,
                term=e.term.value,
                acquired=planned_lots.get(e.lot_id),
            )
            for e in evaluation.effects
        ],
        wash_sale_findings=[f.message for f in evaluation.wash_findings],
        wash_sale_adjustments=adjustments,
        do_not_buy_after={r.symbol: r.until for r in evaluation.do_not_buy if r.until > as_of},
    )
