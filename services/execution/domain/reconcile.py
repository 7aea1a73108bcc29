"""Compare the ledger's book of a broker account with the broker's (pure).

A position differs when the share counts are not equal (a symbol missing on one side counts as 0);
cash differs when the balances are a cent or more apart. Cash is reported under the symbol ``$CASH``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from contracts import PositionDifference

__all__ = ["CASH", "differences"]

CASH = "$CASH"
_CENT = Decimal("0.01")


def differences(
    ledger_positions: Mapping[str, Decimal],
    ledger_cash: Decimal,
    broker_positions: Mapping[str, Decimal],
    broker_cash: Decimal,
) -> list[PositionDifference]:
    """Every symbol whose quantity differs, with both quantities, then cash; sorted by symbol."""
    found = []
    for symbol in sorted(set(ledger_positions) | set(broker_positions)):
        ours = ledger_positions.get(symbol, Decimal(0))
        theirs = broker_positions.get(symbol, Decimal(0))
        if ours != theirs:
            found.append(PositionDifference(symbol=symbol, ledger=ours, broker=theirs))
    if abs(ledger_cash - broker_cash) >= _CENT:
        found.append(PositionDifference(symbol=CASH, ledger=ledger_cash, broker=broker_cash))
    return found
