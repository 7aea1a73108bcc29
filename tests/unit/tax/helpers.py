"""Small builders for transactions in tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.tax.domain import AccountType, Action, Transaction


def tx(
    action: str,
    day: str,
    symbol: str,
    shares: int | str,
    price: int | str,
    *,
    account: str = "brokerage",
    account_type: AccountType = AccountType.TAXABLE,
    lot_id: str | None = None,
    fees: str = "0",
) -> Transaction:
    return Transaction(
        trade_date=date.fromisoformat(day),
        account_id=account,
        account_type=account_type,
        symbol=symbol,
        action=Action(action),
        shares=Decimal(shares),
        price=Decimal(price),
        fees=Decimal(fees),
        lot_id=lot_id,
    )


def D(text: str | int) -> Decimal:
    return Decimal(text)
