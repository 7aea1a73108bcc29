"""Record a transaction made outside the system: a trade at the custodian, a deposit or a withdrawal. Pure.

A buy opens lot ``ext-<client_transaction_id>`` at its price plus fees and is recorded in the account's
history, so the household ledger replays it: it is a replacement purchase for any loss sold 30 days before or
after it in any account of the household (and a loss it sells is matched against purchases the same way).
A sell relieves the lots the account's lot method picks (from the lots the household ledger derives, as a
run's sale would), one history row per lot with its share of the fees. Cash moves by the proceeds or the
cost; it never goes negative. A client transaction id recorded already changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

import msgspec

from contracts import Lot, Transaction
from contracts.book import RecordTransaction
from services.portfolio.domain.ledger import relieve_lot
from services.portfolio.domain.state import AccountState, CashMovement
from shared.errors import DomainError, InvalidInputError
from shared.lot_ledger import Lot as LedgerLot
from shared.lot_ledger import LotMethod, relief_order
from shared.money import ZERO
from shared.securities import SecurityMaster

__all__ = ["CLIENT_IDS_KEPT", "OutsideResult", "check_transaction", "outside_lot_id", "record_outside"]

CLIENT_IDS_KEPT = 10_000
"""Client transaction ids remembered per account (their idempotency)."""
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutsideResult:
    state: AccountState
    already_recorded: bool = False
    lots: tuple[str, ...] = ()
    realized_gain: Decimal | None = None


def outside_lot_id(client_transaction_id: str) -> str:
    return f"ext-{client_transaction_id}"


def check_transaction(tx: RecordTransaction, *, today: date, securities: SecurityMaster) -> None:
    """Refuse a transaction that names a wrong field (``shares: must be positive``)."""
    if tx.date > today:
        raise InvalidInputError(f"date: {tx.date} is after today ({today})")
    if tx.type in ("buy", "sell"):
        if not tx.symbol:
            raise InvalidInputError("symbol: required for a buy or a sell")
        if tx.symbol not in securities:
            raise InvalidInputError(f"symbol: unknown security {tx.symbol!r} (not in the securities master)")
        if tx.shares is None or tx.shares <= 0:
            raise InvalidInputError("shares: must be positive")
        if tx.price is None or tx.price <= 0:
            raise InvalidInputError("price: must be positive")
        if tx.fees < 0:
            raise InvalidInputError("fees: must not be negative")
        if tx.amount is not None:
            raise InvalidInputError("amount: only for a deposit or a withdrawal (a trade has shares and price)")
    else:
        if tx.amount is None or tx.amount <= 0:
            raise InvalidInputError("amount: must be positive")
        if tx.symbol or tx.shares is not None or tx.price is not None:
            raise InvalidInputError(f"symbol: a {tx.type} moves cash only (no symbol, shares or price)")


def _row(state: AccountState, tx: RecordTransaction, **fields: object) -> Transaction:
    account = state.account
    return Transaction(
        account_id=account.account_id,
        account_type=account.account_type,
        date=tx.date,
        symbol=tx.symbol,
        price=tx.price or ZERO,
        **fields,  # type: ignore[arg-type]
    )


def _buy(state: AccountState, tx: RecordTransaction) -> tuple[AccountState, tuple[str, ...], Decimal | None]:
    assert tx.shares is not None and tx.price is not None
    account = state.account
    cost = tx.shares * tx.price + tx.fees
    if cost > account.cash:
        raise DomainError(f"buy of {tx.symbol}: costs {cost}, cash is {account.cash} (record the deposit first)")
    lot_id = outside_lot_id(tx.client_transaction_id)
    if any(lot.lot_id == lot_id for lot in account.lots):
        raise DomainError(f"lot {lot_id} exists already")
    lot = Lot(lot_id=lot_id, symbol=tx.symbol, shares=tx.shares, cost_basis=cost, acquired=tx.date)
    lots = sorted([*account.lots, lot], key=lambda x: (x.symbol, x.acquired, x.lot_id))
    row = _row(state, tx, action="buy", shares=tx.shares, lot_id=lot_id, fees=tx.fees)
    new = msgspec.structs.replace(account, lots=lots, cash=account.cash - cost)
    return msgspec.structs.replace(state, account=new, transactions=[*state.transactions, row]), (lot_id,), None


def _sell(
    state: AccountState, tx: RecordTransaction, derived: Sequence[LedgerLot]
) -> tuple[AccountState, tuple[str, ...], Decimal | None]:
    assert tx.shares is not None and tx.price is not None
    account = state.account
    held = [lot for lot in derived if lot.symbol == tx.symbol and lot.acquired <= tx.date]
    total = sum((lot.shares for lot in held), ZERO)
    if tx.shares > total:
        raise DomainError(f"sell of {tx.shares} {tx.symbol} on {tx.date}: the account holds {total}")
    net_price = (tx.shares * tx.price - tx.fees) / tx.shares
    order = relief_order(held, LotMethod.parse(account.lot_method), sale_date=tx.date, net_price=net_price)
    lots = {lot.lot_id: lot for lot in account.lots}
    remaining, fees_left, realized = tx.shares, tx.fees, ZERO
    rows: list[Transaction] = []
    for index in order:
        if remaining == 0:
            break
        lot = held[index]
        take = min(remaining, lot.shares)
        remaining -= take
        relieve_lot(lots, lot.lot_id, take, tx.symbol, tx.date)
        fee = fees_left if remaining == 0 else (tx.fees * take / tx.shares).quantize(_CENT, ROUND_DOWN)
        fees_left -= fee
        gain = take * tx.price - fee - lot.adjusted_basis * take / lot.shares
        realized += gain
        rows.append(_row(state, tx, action="sell", shares=take, lot_id=lot.lot_id, fees=fee, realized_gain=gain))
    proceeds = tx.shares * tx.price - tx.fees
    new = msgspec.structs.replace(
        account,
        lots=sorted(lots.values(), key=lambda x: (x.symbol, x.acquired, x.lot_id)),
        cash=account.cash + proceeds,
    )
    state = msgspec.structs.replace(state, account=new, transactions=[*state.transactions, *rows])
    return state, tuple(r.lot_id for r in rows), realized


def _cash(state: AccountState, tx: RecordTransaction) -> tuple[AccountState, tuple[str, ...], Decimal | None]:
    assert tx.amount is not None
    account = state.account
    amount = tx.amount if tx.type == "deposit" else -tx.amount
    if account.cash + amount < 0:
        raise DomainError(f"withdrawal of {tx.amount}: cash is {account.cash}")
    movement = CashMovement(date=tx.date, amount=amount, client_transaction_id=tx.client_transaction_id)
    new = msgspec.structs.replace(account, cash=account.cash + amount)
    return msgspec.structs.replace(state, account=new, cash_movements=[*state.cash_movements, movement]), (), None


def record_outside(state: AccountState, tx: RecordTransaction, *, derived: Sequence[LedgerLot]) -> OutsideResult:
    """The account after ``tx`` (checked with :func:`check_transaction` first). ``derived``: the account's open
    lots as the household ledger derives them (adjusted basis), from which a sell picks its lots."""
    if tx.client_transaction_id in state.client_transactions:
        return OutsideResult(state=state, already_recorded=True)
    if tx.type == "buy":
        new, lots, realized = _buy(state, tx)
    elif tx.type == "sell":
        new, lots, realized = _sell(state, tx, derived)
    else:
        new, lots, realized = _cash(state, tx)
    new = msgspec.structs.replace(
        new,
        account=msgspec.structs.replace(new.account, revision=new.account.revision + 1),
        client_transactions=[*state.client_transactions, tx.client_transaction_id][-CLIENT_IDS_KEPT:],
    )
    return OutsideResult(state=new, lots=lots, realized_gain=realized)
