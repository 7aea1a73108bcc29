"""Translate between the bus contracts and the rebalancing engine's own types."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import numpy as np

from contracts import AccountSnapshot as ContractAccount
from contracts import LotSale as ContractLotSale
from contracts import PlanOptions as ContractOptions
from contracts import PortfolioRisk, TaxContext, TaxImplication
from contracts import RebalancePlan as ContractPlan
from contracts import Trade as ContractTrade
from services.rebalancing.domain import (
    AccountSnapshot,
    Band,
    CostModel,
    Covariance,
    PlanOptions,
    RebalanceMode,
    RebalancePlan,
    RebalanceTo,
    TaxBudget,
    TaxInputs,
    TaxLot,
)
from shared.holding_period import Term
from shared.money import ZERO, cents
from shared.securities import SecurityMaster

__all__ = ["account_of", "covariance_of", "options_of", "plan_to_contract", "tax_inputs_of"]


def account_of(account: ContractAccount) -> AccountSnapshot:
    return AccountSnapshot(
        account_id=account.account_id,
        taxable=account.taxable,
        cash=account.cash,
        lots=tuple(
            TaxLot(
                lot_id=lot.lot_id,
                symbol=lot.symbol,
                shares=lot.shares,
                cost_basis=lot.cost_basis,
                acquired=lot.acquired,
            )
            for lot in account.lots
        ),
        target=dict(account.target),
        security_targets=dict(account.security_targets),
        substitutes={symbol: tuple(subs) for symbol, subs in account.substitutes.items()},
        cash_reserve=account.cash_reserve,
        fractional=account.fractional,
    )


def options_of(options: ContractOptions, account: ContractAccount, *, costs: CostModel) -> PlanOptions:
    """The run's request options with the account's own planning settings."""
    return PlanOptions(
        mode=RebalanceMode(options.mode),
        band=Band(absolute=account.rebalance_threshold, relative=account.band_relative),
        rebalance_to=RebalanceTo(account.rebalance_to),
        withdraw_amount=options.withdraw_amount or ZERO,
        min_trade=account.min_trade,
        max_trade_amount=options.max_trade_amount,
        turnover_cap=account.turnover_cap,
        exclude_symbols=frozenset(options.exclude_symbols),
        restricted_symbols=frozenset(account.restricted_symbols),
        tax_budget=TaxBudget(max_net_gain=account.max_realized_gain, max_tax=account.max_estimated_tax),
        costs=costs,
    )


def tax_inputs_of(context: TaxContext | None, account: ContractAccount, as_of: date) -> TaxInputs | None:
    """Rates, lot terms and the do-not-buy list from the tax context (and the account's own windows)."""
    do_not_buy = {symbol for symbol, until in account.do_not_buy.items() if until >= as_of}
    if context is None:
        return TaxInputs(short_term_rate=ZERO, long_term_rate=ZERO, do_not_buy=frozenset(do_not_buy))
    do_not_buy |= {symbol for symbol, until in context.do_not_buy.items() if until > as_of}
    return TaxInputs(
        short_term_rate=context.short_term_rate,
        long_term_rate=context.long_term_rate,
        lot_terms={lot.lot_id: Term(lot.term) for lot in context.lots},
        do_not_buy=frozenset(do_not_buy),
        harvest_lot_ids=tuple(c.lot_id for c in context.harvest_candidates),
        replacements={c.symbol: c.replacement for c in context.harvest_candidates if c.replacement},
        washed_lot_ids=frozenset(lot.lot_id for lot in context.lots if lot.loss_sale_would_wash),
    )


def covariance_of(risk: PortfolioRisk | None) -> Covariance | None:
    if risk is None or not risk.symbols or not risk.covariance:
        return None
    return Covariance(symbols=tuple(risk.symbols), matrix=np.asarray(risk.covariance, dtype=float))


def _points(values: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Percentages rounded to hundredths of a point, for people and the wire."""
    return {name: (value + 0).quantize(_HUNDREDTH) for name, value in values.items()}


_HUNDREDTH = Decimal("0.01")


def plan_to_contract(
    plan: RebalancePlan,
    account: ContractAccount,
    prices: dict[str, Decimal],
    tax: TaxInputs | None,
    securities: SecurityMaster,
) -> ContractPlan:
    lots = {lot.lot_id: lot for lot in account.lots}
    rates = {"short": tax.short_term_rate, "long": tax.long_term_rate} if tax else {"short": ZERO, "long": ZERO}
    trades = []
    for index, trade in enumerate(plan.trades, start=1):
        sales = [
            ContractLotSale(
                lot_id=sale.lot_id,
                shares=sale.shares,
                cost_basis=cents(lots[sale.lot_id].cost_basis * sale.shares / lots[sale.lot_id].shares),
                gain=sale.gain,
                term=Term(sale.term).value,
                acquired=lots[sale.lot_id].acquired,
            )
            for sale in trade.lots
        ]
        implication = None
        if trade.action == "sell" and account.taxable and sales:
            terms = {s.term for s in sales}
            implication = TaxImplication(
                gain_loss=cents(sum((s.gain for s in sales), ZERO)),
                tax_liability=cents(sum((s.gain * rates[s.term] for s in sales), ZERO)),
                holding_period=terms.pop() if len(terms) == 1 else "mixed",
            )
        trades.append(
            ContractTrade(
                trade_id=f"t{index:02d}",
                symbol=trade.symbol,
                action=str(trade.action),  # type: ignore[arg-type]
                shares=trade.shares,
                price=trade.price,
                value=trade.value,
                asset_class=securities.asset_class(trade.symbol) if trade.symbol in securities else "",
                lots=sales,
                reason=trade.reason,
                tax_implication=implication,
            )
        )
    value = account.cash + sum((lot.shares * prices[lot.symbol] for lot in account.lots), ZERO)
    return ContractPlan(
        needs_rebalancing=plan.needs_rebalancing,
        deviations=_points(plan.deviations),
        trades=trades,
        estimated_tax=plan.estimated_tax,
        estimated_costs=plan.estimated_costs,
        before=_points(plan.before),
        after=_points(plan.after),
        solver=plan.solver,
        warnings=list(plan.warnings),
        portfolio_value=value,
    )
