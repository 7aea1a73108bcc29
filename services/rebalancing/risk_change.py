"""Volatility of the account before and after the plan, from the analysis step's covariance.

The covariance (annualized, Ledoit-Wolf) covers every symbol the run may trade; cash has no
volatility. ``sigma = sqrt(w' S w)`` with ``w`` the weights of the whole account (cash included).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

import numpy as np

from contracts import AccountSnapshot, PortfolioRisk, Trade
from shared.holdings import shares_by_symbol

__all__ = ["holdings_after", "volatility"]


def holdings_after(account: AccountSnapshot, trades: list[Trade]) -> dict[str, Decimal]:
    """Shares held by symbol once the trades are done."""
    shares = shares_by_symbol(account.lots)
    for trade in trades:
        signed = trade.shares if trade.action == "buy" else -trade.shares
        shares[trade.symbol] = shares.get(trade.symbol, Decimal(0)) + signed
    return {symbol: n for symbol, n in shares.items() if n != 0}


def volatility(
    shares: Mapping[str, Decimal], cash: Decimal, prices: Mapping[str, Decimal], risk: PortfolioRisk | None
) -> float | None:
    """Annualized volatility of the account, or ``None`` without a covariance covering its holdings."""
    if risk is None or not risk.covariance:
        return None
    index = {symbol: i for i, symbol in enumerate(risk.symbols)}
    if any(symbol not in index for symbol in shares):
        return None
    values = {symbol: float(n * prices[symbol]) for symbol, n in shares.items()}
    total = sum(values.values()) + float(cash)
    if total <= 0:
        return None
    weights = np.zeros(len(risk.symbols))
    for symbol, value in values.items():
        weights[index[symbol]] = value / total
    matrix = np.asarray(risk.covariance, dtype=float)
    return math.sqrt(max(float(weights @ matrix @ weights), 0.0))
