"""``python -m bench realized``: the realized-gains computation (``POST /api/tax/realized``, ``rebalance tax
realized``) on 5,000 and 50,000 rows: one long-held position bought in small lots (thousands of open
lots), every fourth row a sale (half at a loss, so many wash sales). Parse and replay are timed
separately; the old quadratic replay on 5,000 rows is printed for comparison."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from services.tax.domain import LotMethod, compute_realized, parse_transactions_csv
from shared.securities import default_securities


def history(rows: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    lines = ["date,account,account_type,symbol,action,shares,price\n"]
    day = date(2000, 1, 3)
    held: dict[tuple[str, str], int] = {}
    for i in range(rows):
        if i % 2 == 0:
            day += timedelta(days=1)
        account, symbol = "joint", "VTI"
        key = (account, symbol)
        if held.get(key, 0) > 50 and i % 4 == 3:
            held[key] -= 3
            lines.append(f"{day},{account},taxable,{symbol},sell,3,{rnd.choice([80, 140])}\n")
        else:
            held[key] = held.get(key, 0) + 10
            lines.append(f"{day},{account},taxable,{symbol},buy,10,{100 + rnd.random() * 10:.2f}\n")
    return lines


def main() -> None:
    securities = default_securities()
    for rows in (5_000, 50_000):
        lines = history(rows)
        started = time.perf_counter()
        transactions = parse_transactions_csv(lines)
        parsed = time.perf_counter()
        result = compute_realized(transactions, method=LotMethod.FIFO, securities=securities)
        done = time.perf_counter()
        print(
            f"realized {rows:>6,} rows: parse {parsed - started:.2f} s, replay and totals {done - parsed:.2f} s "
            f"({len(result.sales):,} sales, {len(result.matches):,} wash-sale matches)"
        )
    try:
        from tests.unit.tax.legacy_ledger import replay as old_replay
    except ImportError:  # the old implementation lives with the tests
        return
    transactions = parse_transactions_csv(history(5_000))
    started = time.perf_counter()
    old_replay(transactions, securities=securities)
    print(f"realized  5,000 rows, the replay before the index (quadratic): {time.perf_counter() - started:.2f} s")
