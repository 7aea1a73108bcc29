"""Apply a run's fills to an account's lots and cash: pure, exact, and checked.

Sells relieve the lots the plan chose (the tax-lot selection is part of the plan); buys open a new lot
at the fill price plus commission. Invariants: never sell more than a lot holds, cash never negative.
Cash is settled to the cent: each fill moves it by its net amount (sell: shares x price - commission;
buy: shares x price + commission) rounded half-even to the cent (:func:`shared.money.settle`), so cash is
always whole cents; the new lot's basis and the realized gains keep the exact amounts (the tax engine
rounds at its own edges), so each fill leaves a settlement difference of at most half a cent between them.
Realized sales and purchases are recorded in the account's history (price and commission, one row per
lot relieved), which the tax service reads for the 61-day wash-sale window and from which the household
ledger derives every basis adjustment (:mod:`.household_ledger`): nothing here moves a disallowed loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

import msgspec

from contracts import Fill, Lot, TaxReview, Trade, Transaction
from services.portfolio.domain.state import AccountState
from shared.errors import DomainError
from shared.money import ZERO, cents, settle

__all__ = ["APPLIED_RUNS_KEPT", "LedgerUpdate", "apply_fills", "relieve_lot"]

APPLIED_RUNS_KEPT = 200


class LedgerUpdate(msgspec.Struct, frozen=True, kw_only=True):
    state: AccountState
    realized_gain: Decimal
    already_applied: bool = False


def _relieve(lots: dict[str, Lot], lot_id: str, shares: Decimal, symbol: str, on: date) -> tuple[Lot, Decimal]:
    """Take ``shares`` out of lot ``lot_id``; returns the part sold (its basis pro rata)."""
    lot = lots.get(lot_id)
    if lot is None or lot.symbol != symbol:
        raise DomainError(f"sell of {symbol}: lot {lot_id!r} is not held")
    if lot.acquired > on:
        raise DomainError(f"sell of {symbol} on {on}: lot {lot_id} was acquired later, on {lot.acquired}")
    if shares <= 0:
        raise DomainError(f"sell of {symbol}: lot {lot_id} quantity must be positive, got {shares}")
    if shares > lot.shares:
        raise DomainError(f"sell of {symbol}: {shares} shares of lot {lot_id} exceed the {lot.shares} held")
    # Pro rata, rounded to cents; what remains stays in the lot, so basis is conserved exactly.
    basis = lot.cost_basis if shares == lot.shares else cents(lot.cost_basis * shares / lot.shares)
    adjustment = (
        lot.wash_sale_adjustment if shares == lot.shares else cents(lot.wash_sale_adjustment * shares / lot.shares)
    )
    if shares == lot.shares:
        del lots[lot_id]
    else:
        lots[lot_id] = msgspec.structs.replace(
            lot,
            shares=lot.shares - shares,
            cost_basis=lot.cost_basis - basis,
            wash_sale_adjustment=lot.wash_sale_adjustment - adjustment,
        )
    sold = msgspec.structs.replace(lot, shares=shares, cost_basis=basis, wash_sale_adjustment=adjustment)
    return sold, basis


def relieve_lot(lots: dict[str, Lot], lot_id: str, shares: Decimal, symbol: str, on: date) -> Lot:
    """Take ``shares`` out of lot ``lot_id`` of ``lots`` (in place); returns the part sold."""
    sold, _ = _relieve(lots, lot_id, shares, symbol, on)
    return sold


def _sell_allocation(trade: Trade, fill: Fill) -> list[tuple[str, Decimal]]:
    """The lots and shares a sell fill relieves: the plan's lots, scaled down if partly filled."""
    planned = [(lot.lot_id, lot.shares) for lot in trade.lots]
    if not planned:
        raise DomainError(f"sell of {trade.symbol}: the plan names no lots")
    remaining = fill.shares
    allocation = []
    for lot_id, shares in planned:
        take = min(shares, remaining)
        if take > 0:
            allocation.append((lot_id, take))
            remaining -= take
    if remaining > 0:
        raise DomainError(f"sell of {trade.symbol}: filled {fill.shares} shares, the plan's lots hold fewer")
    return allocation


def apply_fills(
    state: AccountState,
    *,
    run_id: str,
    as_of: date,
    trades: list[Trade],
    fills: list[Fill],
    review: TaxReview | None = None,
    adjusted: Mapping[str, Lot] | None = None,
) -> LedgerUpdate:
    """The account after the fills of ``run_id``; applying the same run twice changes nothing.

    ``adjusted``: the account's lots as the household ledger derives them (adjusted basis), by lot id,
    for the realized gain of each sale; without it, the stored cost."""
    if run_id in state.applied_runs:
        return LedgerUpdate(state=state, realized_gain=ZERO, already_applied=True)
    account = state.account
    trades_by_id = {t.trade_id: t for t in trades}
    lots = {lot.lot_id: lot for lot in account.lots}
    cash = account.cash
    realized = ZERO
    history: list[Transaction] = []
    # Sells first, then buys (as executed), so the cash of the sells pays for the buys.
    ordered = sorted(fills, key=lambda f: (f.action != "sell", f.trade_id))
    for fill in ordered:
        trade = trades_by_id.get(fill.trade_id)
        if trade is None or trade.symbol != fill.symbol or trade.action != fill.action:
            raise DomainError(f"fill {fill.order_id} does not match a trade of the plan")
        common: dict[str, Any] = {
            "account_id": account.account_id,
            "account_type": account.account_type,
            "date": as_of,
            "symbol": fill.symbol,
            "price": fill.price,
            "run_id": run_id,
        }
        if fill.action == "sell":
            proceeds_total = fill.shares * fill.price - fill.commission
            allocation = _sell_allocation(trade, fill)
            fees_left = fill.commission
            for index, (lot_id, shares) in enumerate(allocation):
                _, basis = _relieve(lots, lot_id, shares, fill.symbol, as_of)
                derived = (adjusted or {}).get(lot_id)
                if derived is not None and derived.shares > 0:
                    basis = derived.cost_basis * shares / derived.shares
                last = index == len(allocation) - 1
                # the commission pro rata (rounded down, the rest on the last lot): price x shares - fee is
                # the proceeds of each lot, as the household ledger reads the row back
                fee = fees_left if last else (fill.commission * shares / fill.shares).quantize(_CENT, ROUND_DOWN)
                fees_left -= fee
                gain = shares * fill.price - fee - basis
                realized += gain
                history.append(
                    Transaction(**common, action="sell", shares=shares, lot_id=lot_id, realized_gain=gain, fees=fee)
                )
            cash += settle(proceeds_total)
        else:
            cost = fill.shares * fill.price + fill.commission
            paid = settle(cost)
            if paid > cash:
                raise DomainError(f"buy of {fill.symbol}: costs {paid}, cash is {cash}")
            cash -= paid
            lot_id = f"{run_id}-{fill.trade_id}"
            if lot_id in lots:
                raise DomainError(f"lot {lot_id} exists already")
            lots[lot_id] = Lot(lot_id=lot_id, symbol=fill.symbol, shares=fill.shares, cost_basis=cost, acquired=as_of)
            history.append(Transaction(**common, action="buy", shares=fill.shares, lot_id=lot_id, fees=fill.commission))
    if cash < 0:
        raise DomainError(f"cash would be negative: {cash}")
    do_not_buy = dict(account.do_not_buy)
    if review is not None:
        for symbol, until in review.do_not_buy_after.items():
            do_not_buy[symbol] = max(until, do_not_buy.get(symbol, until))
    do_not_buy = {s: d for s, d in do_not_buy.items() if d >= as_of}
    new_account = msgspec.structs.replace(
        account,
        lots=sorted(lots.values(), key=lambda lot: (lot.symbol, lot.acquired, lot.lot_id)),
        cash=cash,
        last_rebalanced=as_of,
        do_not_buy=do_not_buy,
        revision=account.revision + 1,
    )
    new_state = msgspec.structs.replace(
        state,
        account=new_account,
        transactions=[*state.transactions, *history],
        applied_runs=[*state.applied_runs, run_id][-APPLIED_RUNS_KEPT:],
    )
    return LedgerUpdate(state=new_state, realized_gain=realized)


_CENT = Decimal("0.01")
