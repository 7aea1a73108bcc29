"""The 500 / 2,500 plan's memory in a fresh process that holds what a planner process holds.

Run by ``bench planner`` (not a benchmark of its own): the parent builds the account (from the shipped
price history, which a planner never loads) and hands it over pickled on stdin, as the rebalancing
service receives an account in a message. This process imports everything the rebalancing service
imports (``services.rebalancing.main``: the handlers, contracts, the bus, the planner), reads the
account, then prints its resident memory before and after one plan and the plan's traced peak.
"""

from __future__ import annotations

import gc
import pickle
import sys
import tracemalloc
from decimal import Decimal
from pathlib import Path

import services.rebalancing.main  # noqa: F401  (the service's imports: what a planner process carries)
from services.rebalancing.domain import AccountSnapshot, PlanOptions, TaxInputs, plan_rebalance
from shared.securities import SecurityMaster


def rss_mb(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from datetime import date

    as_of = date.fromisoformat(sys.argv[1])
    acct: AccountSnapshot
    prices: dict[str, Decimal]
    master: SecurityMaster
    acct, prices, master = pickle.loads(sys.stdin.buffer.read())
    tax = TaxInputs(short_term_rate=Decimal("0.37"), long_term_rate=Decimal("0.20"))
    gc.collect()
    before, peak_before = rss_mb("VmRSS"), rss_mb("VmHWM")
    plan_rebalance(acct, prices, as_of=as_of, options=PlanOptions(), tax=tax, securities=master)
    after, peak_after = rss_mb("VmRSS"), rss_mb("VmHWM")
    tracemalloc.start()
    plan_rebalance(acct, prices, as_of=as_of, options=PlanOptions(), tax=tax, securities=master)
    traced = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(
        f"500 / 2500 in a fresh process with the rebalancing service's imports: RSS {before:.0f} MB before "
        f"the plan (imports and the account; peak so far {peak_before:.0f} MB), {after:.0f} MB after it, "
        f"peak {peak_after:.0f} MB: the plan adds {max(after, peak_after) - max(before, peak_before):.0f} MB "
        f"to the peak; its own traced peak (tracemalloc, Python and numpy allocations) {traced:.1f} MB; "
        "target <= 200 MB"
    )


if __name__ == "__main__":
    main()
