"""The live ledger, derived: the household's whole history replayed by the same engine as
``rebalance tax realized`` (:mod:`shared.lot_ledger`).

The store keeps, per account, the lots it started with (``AccountState.initial_lots``), every executed
fill (``AccountState.transactions``) and the lot positions the fills left (ids and shares). Basis
adjustments, holding-period tacking, disallowed and permanently disallowed losses are never stored: they
are a function of the household's transactions, recomputed on every read. So a loss sold in one account
and replaced in another, a replacement bought in a later run, a replacement sold before the loss's own
run applied, retries and redeliveries all give the one answer the offline engine gives, whatever the
order in which the runs were applied.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, Decimal

import msgspec

from contracts import AccountSnapshot
from contracts import Lot as ContractLot
from contracts import Transaction as ContractTransaction
from contracts.queries import LedgerLot
from services.portfolio.domain.state import AccountState
from shared.lot_ledger import (
    AccountPolicy,
    AccountType,
    Action,
    LedgerResult,
    Lot,
    LotMethod,
    Transaction,
    canonical_order,
    replay,
)
from shared.money import ZERO
from shared.securities import SecurityMaster

__all__ = [
    "TRANSACTION_COLUMNS",
    "account_ledger_lots",
    "household_ledger",
    "household_transactions",
    "initial_lots_of",
    "ledger_lot_view",
    "transactions_csv",
    "with_ledger_lots",
]

TRANSACTION_COLUMNS = (
    "date",
    "account",
    "account_type",
    "symbol",
    "action",
    "shares",
    "price",
    "lot_id",
    "fees",
    "holding_period_start",
)
_PRICE_PLACES = Decimal("0.000001")


def initial_lots_of(state: AccountState) -> list[ContractLot]:
    """The lots the account started with. States stored before ``initial_lots`` existed: the lots held
    that no recorded buy opened, with the shares recorded sales took from them put back (pro rata cost)."""
    if state.initial_lots or not state.transactions:
        return list(state.initial_lots)
    bought = {t.lot_id for t in state.transactions if t.action != "sell"}
    sold: dict[str, Decimal] = {}
    for t in state.transactions:
        if t.action == "sell" and t.lot_id not in bought:
            sold[t.lot_id] = sold.get(t.lot_id, ZERO) + t.shares
    lots = []
    for lot in state.account.lots:
        if lot.lot_id in bought:
            continue
        shares = lot.shares + sold.get(lot.lot_id, ZERO)
        raw = lot.cost_basis - lot.wash_sale_adjustment
        lots.append(
            ContractLot(
                lot_id=lot.lot_id,
                symbol=lot.symbol,
                shares=shares,
                cost_basis=raw * shares / lot.shares,
                acquired=lot.acquired,
                holding_period_start=lot.holding_period_start,
            )
        )
    return lots


def _opening(lot: ContractLot, account_id: str, account_type: AccountType) -> Transaction:
    """An initial lot as a buy on its acquisition date at its cost: the price to six places, the cents
    (or less) that rounding leaves in ``fees``, so shares x price + fees is the cost exactly."""
    price = (lot.cost_basis / lot.shares).quantize(_PRICE_PLACES, rounding=ROUND_DOWN)
    return Transaction(
        trade_date=lot.acquired,
        account_id=account_id,
        account_type=account_type,
        symbol=lot.symbol,
        action=Action.BUY,
        shares=lot.shares,
        price=price,
        fees=lot.cost_basis - lot.shares * price,
        lot_id=lot.lot_id,
        holding_period_start=lot.holding_period_start
        if lot.holding_period_start and lot.holding_period_start < lot.acquired
        else None,
    )


def _fill(t: ContractTransaction, account_type: AccountType) -> Transaction:
    return Transaction(
        trade_date=t.date,
        account_id=t.account_id,
        account_type=account_type,
        symbol=t.symbol,
        action=Action(t.action),
        shares=t.shares,
        price=t.price,
        fees=t.fees,
        lot_id=t.lot_id or None,
    )


def household_transactions(states: Iterable[AccountState]) -> list[Transaction]:
    """Every transaction of the household: each account's initial lots as buys, then its fills."""
    out: list[Transaction] = []
    for state in states:
        account = state.account
        kind = AccountType(account.account_type)
        out += [_opening(lot, account.account_id, kind) for lot in initial_lots_of(state)]
        out += [_fill(t, kind) for t in state.transactions]
    return out


def _policies(states: Iterable[AccountState]) -> list[AccountPolicy]:
    return [
        AccountPolicy(
            account_id=s.account.account_id,
            account_type=AccountType(s.account.account_type),
            lot_method=LotMethod.parse(s.account.lot_method),
        )
        for s in states
    ]


def household_ledger(states: Sequence[AccountState], securities: SecurityMaster) -> LedgerResult:
    """The household's ledger: the replay of :func:`household_transactions` (raises ``TransactionError``
    if the history cannot be replayed, which a consistent store never does)."""
    return replay(household_transactions(states), securities=securities, accounts=_policies(states))


def _merged(pieces: list[Lot]) -> Lot:
    """The open pieces of one lot (a lot partly used as a wash-sale replacement is two pieces) as one:
    shares, cost and adjustment add up; the holding period starts at the latest start of its pieces, so
    no share is ever called long-term too early."""
    first = pieces[0]
    starts = [p.holding_start for p in pieces]
    start = max(starts)
    return Lot(
        lot_id=first.lot_id,
        symbol=first.symbol,
        shares=sum((p.shares for p in pieces), ZERO),
        cost_basis=sum((p.cost_basis for p in pieces), ZERO),
        acquired=first.acquired,
        account_id=first.account_id,
        holding_period_start=None if start == first.acquired else start,
        wash_sale_adjustment=sum((p.wash_sale_adjustment for p in pieces), ZERO),
    )


def account_ledger_lots(ledger: LedgerResult, account_id: str) -> list[Lot]:
    """The account's open lots, one per lot id, in opening order."""
    by_id: dict[str, list[Lot]] = {}
    for lot in ledger.open_lots:
        if lot.account_id == account_id:
            by_id.setdefault(lot.lot_id, []).append(lot)
    return [_merged(pieces) for pieces in by_id.values()]


def ledger_lot_view(lot: Lot) -> LedgerLot:
    return LedgerLot(
        lot_id=lot.lot_id,
        symbol=lot.symbol,
        shares=lot.shares,
        cost_basis=lot.adjusted_basis,
        acquired=lot.acquired,
        holding_period_start=lot.holding_start,
        wash_sale_adjustment=lot.wash_sale_adjustment,
    )


def with_ledger_lots(account: AccountSnapshot, ledger: LedgerResult) -> AccountSnapshot:
    """The account with its lots as the ledger derives them (adjusted basis, tacked holding period)."""
    lots = [
        ContractLot(
            lot_id=lot.lot_id,
            symbol=lot.symbol,
            shares=lot.shares,
            cost_basis=lot.adjusted_basis,
            acquired=lot.acquired,
            holding_period_start=lot.holding_period_start,
            wash_sale_adjustment=lot.wash_sale_adjustment,
        )
        for lot in account_ledger_lots(ledger, account.account_id)
    ]
    lots.sort(key=lambda lot: (lot.symbol, lot.acquired, lot.lot_id))
    return msgspec.structs.replace(account, lots=lots)


def transactions_csv(transactions: Iterable[Transaction]) -> str:
    """The transactions in the CSV format ``rebalance tax realized`` reads, in canonical order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRANSACTION_COLUMNS)
    for t in canonical_order(transactions):
        writer.writerow(
            [
                t.trade_date.isoformat(),
                t.account_id,
                t.account_type.value,
                t.symbol,
                t.action.value,
                f"{t.shares:f}",
                f"{t.price:f}",
                t.lot_id or "",
                f"{t.fees:f}",
                t.holding_period_start.isoformat() if t.holding_period_start else "",
            ]
        )
    return out.getvalue()
