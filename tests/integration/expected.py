"""Independent computations of expected figures from the shipped CSV files (csv module, no project code)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRICES = ROOT / "shared" / "data" / "market" / "prices"
HOUSEHOLD = ROOT / "shared" / "data" / "demo_household.json"


def close_on(symbol: str, day: str) -> Decimal:
    with (PRICES / f"{symbol}.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["date"] == day:
                return Decimal(row["close_unadj"])
    raise KeyError((symbol, day))


def vix_on(day: str) -> float:
    with (ROOT / "shared" / "data" / "market" / "indices" / "VIX.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["date"] == day:
                return float(row["close"])
    raise KeyError(day)


def demo_account(account_id: str = "demo") -> dict:
    data = json.loads(HOUSEHOLD.read_text())
    return next(a for a in data["accounts"] if a["account_id"] == account_id)


def account_value(account_id: str, day: str) -> Decimal:
    account = demo_account(account_id)
    value = Decimal(account["cash"])
    for lot in account["lots"]:
        value += Decimal(lot["shares"]) * close_on(lot["symbol"], day)
    return value
