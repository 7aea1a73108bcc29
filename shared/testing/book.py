"""A deterministic book of realistic accounts for tests and benchmarks (``HOUSEHOLD_FILE`` format).

Households of one to four accounts (taxable, traditional and Roth IRAs; the three risk models), each
account with lots bought over the years at the shipped actual closes (``close_unadj``), so some lots
stand at a gain and some at a loss on the run date, long- and short-term. The same arguments always give
the same book: every choice is a pure function of (seed, its position in the sequence) through SHA-256 (no
random-number generator, no clock).
"""

from __future__ import annotations

import bisect
import csv
import functools
import hashlib
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from shared.paths import MARKET_DATA_DIR

__all__ = ["UNIVERSE", "generate_book", "price_on", "write_book"]

T = TypeVar("T")


class _Draws:
    """A fixed sequence of numbers in [0, 1): the n-th is SHA-256 of ``"<seed>:<n>"``, read as a fraction."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._n = 0

    def fraction(self) -> float:
        self._n += 1
        digest = hashlib.sha256(f"{self._seed}:{self._n}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high)``."""
        return low + int(self.fraction() * (high - low))

    def amount(self, low: float, high: float) -> float:
        return low + self.fraction() * (high - low)

    def pick(self, items: Sequence[T]) -> T:
        return items[self.integer(0, len(items))]

    def sample(self, items: Sequence[T], size: int) -> list[T]:
        """``size`` distinct items, in the order drawn."""
        pool = list(items)
        return [pool.pop(self.integer(0, len(pool))) for _ in range(size)]


UNIVERSE: dict[str, tuple[str, ...]] = {
    "equity": ("VTI", "VEA", "VWO", "IVV", "SCHB", "QQQ", "VUG", "IJR"),
    "bond": ("BND", "AGG", "BNDX", "TIP", "IEF"),
    "reit": ("VNQ", "SCHH"),
}
_RISKS = ("conservative", "moderate", "aggressive")
_TYPES = ("taxable", "taxable", "taxable", "traditional_ira", "roth_ira")
_FIRST_BUY = date(2013, 1, 2)
_CENT = Decimal("0.01")


@functools.cache
def _closes(symbol: str) -> tuple[tuple[date, ...], tuple[Decimal, ...]]:
    with (MARKET_DATA_DIR / "prices" / f"{symbol}.csv").open(newline="") as fh:
        rows = [(date.fromisoformat(r["date"]), Decimal(r["close_unadj"])) for r in csv.DictReader(fh)]
    return tuple(d for d, _ in rows), tuple(p for _, p in rows)


def price_on(symbol: str, day: date) -> Decimal:
    """The actual close of ``symbol`` on ``day`` or the last session before it."""
    days, prices = _closes(symbol)
    index = bisect.bisect_right(days, day) - 1
    if index < 0:
        raise ValueError(f"{symbol}: no close on or before {day}")
    return prices[index]


def _account(rng: _Draws, account_id: str, as_of: date) -> dict[str, Any]:
    symbols = [
        *rng.sample(UNIVERSE["equity"], rng.integer(2, 5)),
        *rng.sample(UNIVERSE["bond"], rng.integer(1, 3)),
        rng.pick(UNIVERSE["reit"]),
    ]
    last_buy = as_of.toordinal() - 5
    lots = []
    for j in range(rng.integer(len(symbols), 3 * len(symbols) + 1)):
        symbol = symbols[j % len(symbols)]
        first = max(_FIRST_BUY, _closes(symbol)[0][0]).toordinal()
        acquired = date.fromordinal(rng.integer(first, last_buy))
        price = price_on(symbol, acquired)
        shares = max(1, int(rng.amount(1_000, 12_000) / float(price)))
        lots.append(
            {
                "lot_id": f"{account_id}-{j:02d}",
                "symbol": symbol,
                "shares": str(shares),
                "cost_basis": str((price * shares).quantize(_CENT)),
                "acquired": acquired.isoformat(),
            }
        )
    return {
        "account_id": account_id,
        "account_type": rng.pick(_TYPES),
        "risk_tolerance": rng.pick(_RISKS),
        "rebalance_threshold": "5",
        "cash": str(int(rng.amount(0, 8_000))),
        "lot_method": "min_tax",
        "lots": lots,
    }


def generate_book(accounts: int, *, seed: int = 20260501, as_of: date = date(2026, 5, 1)) -> dict[str, Any]:
    """``{"households": [...]}`` holding ``accounts`` accounts (``acct-00000``...) in households of one to
    four (``hh-0000``...), each household with its own tax profile."""
    rng = _Draws(seed)
    households: list[dict[str, Any]] = []
    made = 0
    while made < accounts:
        size = min(rng.integer(1, 5), accounts - made)
        income = rng.integer(60, 600) * 1_000
        households.append(
            {
                "household_id": f"hh-{len(households):04d}",
                "tax_profile": {
                    "filing_status": "mfj" if rng.fraction() < 0.5 else "single",
                    "taxable_income": str(income),
                    "magi": str(income),
                    "state_rate": str(Decimal(rng.integer(0, 10)) / 100),
                },
                "accounts": [_account(rng, f"acct-{made + i:05d}", as_of) for i in range(size)],
            }
        )
        made += size
    return {"households": households}


def write_book(path: Path, accounts: int, **options: Any) -> list[str]:
    """Write a generated book to ``path``; returns its account ids in order."""
    book = generate_book(accounts, **options)
    path.write_text(json.dumps(book, indent=1), encoding="utf-8")
    return [a["account_id"] for h in book["households"] for a in h["accounts"]]
