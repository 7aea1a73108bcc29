"""A planner process never imports cvxpy (the reference route's ~70 MB) unless a plan asks for it."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from datetime import date
from decimal import Decimal
import services.rebalancing.main
from services.rebalancing.domain import AccountSnapshot, PlanOptions, TaxLot, plan_rebalance
account = AccountSnapshot(
    account_id="a", taxable=True, cash=Decimal(100),
    lots=(TaxLot(lot_id="l", symbol="VTI", shares=Decimal(10), cost_basis=Decimal(1000), acquired=date(2020, 1, 2)),),
    target={"equity": Decimal(50), "bond": Decimal(50)},
)
prices = {"VTI": Decimal(300), "BND": Decimal(70)}
seen = []
for backend in ("osqp", "cvxpy"):
    plan = plan_rebalance(account, prices, as_of=date(2026, 5, 1), options=PlanOptions(backend=backend))
    seen.append([plan.solver, "cvxpy" in sys.modules])
print(json.dumps(seen))
"""


def test_cvxpy_is_imported_only_by_a_plan_on_its_backend() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [["osqp", False], ["cvxpy/CLARABEL", True]]
