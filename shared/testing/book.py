"""A deterministic book of realistic accounts for tests and benchmarks (``HOUSEHOLD_FILE`` format).

Households of one to four accounts (taxable, traditional and Roth IRAs; the three risk models), each
account with lots bought over the years at the shipped actual closes (``close_unadj``), so some lots
stand at a gain and some at a loss on the run date, long- and short-term. The same arguments always give
the same book: a fixed-seed generator, no clock.
"""

from __future__ import annotations

import bisect
import csv
import functools
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from shared.paths import MARKET_DATA_DIR

__all__ = ["UNIVERSE", "generate_book", "price_on", "write_book"]

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


def _account(rng: np.random.Generator, account_id: str, as_of: date) -> dict[str, Any]:
    symbols = [
        *(str(s) for s in rng.choice(UNIVERSE["equity"], size=int(rng.integers(2, 5)), replace=False)),
        *(str(s) for s in rng.choice(UNIVERSE["bond"], size=int(rng.integers(1, 3)), replace=False)),
        str(rng.choice(UNIVERSE["reit"])),
    ]
    last_buy = as_of.toordinal() - 5
    lots = []
    for j in range(int(rng.integers(len(symbols), 3 * len(symbols) + 1))):
        symbol = symbols[j % len(symbols)]
        first = max(_FIRST_BUY, _closes(symbol)[0][0]).toordinal()
        acquired = date.fromordinal(int(rng.integers(first, last_buy)))
        price = price_on(symbol, acquired)
        shares = max(1, int(float(rng.uniform(1_000, 12_000)) / float(price)))
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
        "account_type": _TYPES[int(rng.integers(len(_TYPES)))],
        "risk_tolerance": _RISKS[int(rng.integers(len(_RISKS)))],
        "rebalance_threshold": "5",
        "cash": str(int(rng.uniform(0, 8_000))),
        "lot_method": "min_tax",
        "lots": lots,
    }


def generate_book(accounts: int, *, seed: int = 20260501, as_of: date = date(2026, 5, 1)) -> dict[str, Any]:
    """``{"households": [...]}`` holding ``accounts`` accounts (``acct-00000``...) in households of one to
    four (``hh-0000``...), each household with its own tax profile."""
    rng = np.random.default_rng(seed)
    households: list[dict[str, Any]] = []
    made = 0
    while made < accounts:
        size = min(int(rng.integers(1, 5)), accounts - made)
        income = int(rng.integers(60, 600)) * 1_000
        households.append(
            {
                "household_id": f"hh-{len(households):04d}",
                "tax_profile": {
                    "filing_status": "mfj" if rng.random() < 0.5 else "single",
                    "taxable_income": str(income),
                    "magi": str(income),
                    "state_rate": str(Decimal(int(rng.integers(0, 10))) / 100),
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
