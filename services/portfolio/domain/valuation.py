"""Value an account at given prices: holdings, total, allocation by asset class."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from contracts import AccountSnapshot
from shared.holdings import values_by_symbol
from shared.money import ZERO
from shared.securities import SecurityMaster, default_securities

__all__ = ["allocation", "holdings_value", "total_value"]


def holdings_value(account: AccountSnapshot, prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Market value by symbol (shares times the close)."""
    return values_by_symbol(account.lots, prices)


def total_value(account: AccountSnapshot, prices: Mapping[str, Decimal]) -> Decimal:
    return sum(holdings_value(account, prices).values(), ZERO) + account.cash


def allocation(
    account: AccountSnapshot, prices: Mapping[str, Decimal], securities: SecurityMaster | None = None
) -> dict[str, Decimal]:
    """Percent of the account by asset class (cash included), rounded to 0.01."""
    securities = securities or default_securities()
    total = total_value(account, prices)
    by_class: dict[str, Decimal] = {name: ZERO for name in account.target}
    for symbol, value in holdings_value(account, prices).items():
        asset_class = securities.asset_class(symbol)
        by_class[asset_class] = by_class.get(asset_class, ZERO) + value
    by_class["cash"] = by_class.get("cash", ZERO) + account.cash
    if total <= 0:
        return {name: ZERO for name in by_class}
    return {name: (value * 100 / total).quantize(Decimal("0.01")) for name, value in sorted(by_class.items())}
