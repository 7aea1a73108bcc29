"""The household's recent purchases and sales, for the tax service's wash-sale window."""

from __future__ import annotations

from datetime import date, timedelta

from contracts import Transaction
from services.portfolio.domain.state import AccountState

__all__ = ["LOOKBACK_DAYS", "household_activity"]

LOOKBACK_DAYS = 400  # more than the 61-day window around any run date the deployment may use


def household_activity(accounts: list[AccountState], *, today: date) -> list[Transaction]:
    """Every account's transactions since ``today - LOOKBACK_DAYS``, and its lots bought since then
    that have no transaction on record (lots loaded from a file), as purchases."""
    since = today - timedelta(days=LOOKBACK_DAYS)
    out: list[Transaction] = []
    for state in accounts:
        account = state.account
        recorded = {
            t.lot_id for t in (*state.archived_transactions, *state.transactions) if t.action in ("buy", "reinvest")
        }
        out.extend(t for t in (*state.archived_transactions, *state.transactions) if t.date >= since)
        for lot in account.lots:
            if lot.acquired >= since and lot.lot_id not in recorded:
                price = lot.cost_basis / lot.shares if lot.shares else lot.cost_basis
                out.append(
                    Transaction(
                        account_id=account.account_id,
                        account_type=account.account_type,
                        date=lot.acquired,
                        symbol=lot.symbol,
                        action="buy",
                        shares=lot.shares,
                        price=price,
                        lot_id=lot.lot_id,
                    )
                )
    return sorted(out, key=lambda t: (t.date, t.account_id, t.symbol, t.action, t.lot_id))
