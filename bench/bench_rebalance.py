"""Rebalancing benchmark: tax-aware optimizer vs heuristic vs the naive proportional method.

Accounts: ``bench/accounts/rebalance_accounts.json``, 50 taxable accounts of 20 securities and 100
lots, generated deterministically (``python -m bench.bench_rebalance --generate``; numpy Generator
with a fixed seed) with cost bases from the shipped price history, so gains and losses are real.
Reports drift after trading (max |class deviation| and class-level tracking error), realized tax and
trading cost, then the solve time per account with one core (first compile excluded).
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

from services.rebalancing.domain import AccountSnapshot, PlanOptions, TaxInputs, TaxLot, plan_rebalance
from services.rebalancing.domain.book import build_book
from services.rebalancing.domain.cvxpy_backend import solve_cvxpy
from services.rebalancing.domain.optimizer import prepare_qp
from services.rebalancing.domain.osqp_backend import solve_osqp
from shared.securities import default_securities

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = Path(__file__).parent / "accounts" / "rebalance_accounts.json"
PRICES_DIR = ROOT / "shared" / "data" / "market" / "prices"
AS_OF = date(2026, 5, 1)
SEED = 20260501
TAX = TaxInputs(short_term_rate=Decimal("0.37"), long_term_rate=Decimal("0.15"))
UNIVERSE = {
    "equity": [
        "VTI",
        "ITOT",
        "SCHB",
        "IVV",
        "VOO",
        "QQQ",
        "VUG",
        "VTV",
        "SCHD",
        "VIG",
        "IJH",
        "IJR",
        "VEA",
        "IEFA",
        "VWO",
        "IEMG",
    ],
    "bond": ["BND", "AGG", "BNDX", "IEF", "TLT", "SHY", "TIP", "LQD", "VCIT"],
    "reit": ["VNQ", "SCHH", "XLRE"],
    "commodity": ["GLD", "IAU", "DBC"],
}
MIX = {"equity": 12, "bond": 5, "reit": 2, "commodity": 1}
TARGETS = [
    {"equity": 60, "bond": 30, "reit": 5, "commodity": 3, "cash": 2},
    {"equity": 70, "bond": 20, "reit": 6, "commodity": 4},
    {"equity": 45, "bond": 45, "reit": 5, "commodity": 3, "cash": 2},
]
PROXY = {"equity": "VTI", "bond": "BND", "reit": "VNQ", "commodity": "GLD"}


def _history(symbol: str) -> list[tuple[date, Decimal, float]]:
    with (PRICES_DIR / f"{symbol}.csv").open(newline="") as fh:
        return [
            (date.fromisoformat(r["date"]), Decimal(r["close_unadj"]), float(r["close"])) for r in csv.DictReader(fh)
        ]


_HIST: dict[str, list[tuple[date, Decimal, float]]] = {}


def history(symbol: str) -> list[tuple[date, Decimal, float]]:
    if symbol not in _HIST:
        _HIST[symbol] = _history(symbol)
    return _HIST[symbol]


def price_on(symbol: str, day: date) -> Decimal:
    rows = [p for d, p, _ in history(symbol) if d <= day]
    return rows[-1]


def generate(n_accounts: int = 50, n_lots: int = 100) -> list[dict[str, object]]:
    rng = np.random.default_rng(SEED)
    out = []
    for k in range(n_accounts):
        symbols = []
        for cls, count in MIX.items():
            pool = UNIVERSE[cls]
            symbols += [pool[i] for i in sorted(rng.choice(len(pool), size=count, replace=False))]
        # drift: tilt the money toward a random class so the accounts start off target
        tilt = {c: float(rng.uniform(0.75, 1.35)) for c in MIX}
        lots = []
        for j in range(n_lots):
            symbol = symbols[j % len(symbols)] if j < len(symbols) else symbols[int(rng.integers(len(symbols)))]
            first = max(history(symbol)[0][0], date(2012, 1, 3)).toordinal()
            acquired = date.fromordinal(int(rng.integers(first, date(2026, 4, 15).toordinal())))
            cls = default_securities().asset_class(symbol)
            dollars = float(rng.uniform(1500, 9000)) * tilt[cls]
            basis_price = price_on(symbol, acquired)
            shares = max(1, int(dollars / float(basis_price)))
            lots.append(
                {
                    "lot_id": f"a{k:02d}-l{j:03d}",
                    "symbol": symbol,
                    "shares": str(shares),
                    "cost_basis": str((basis_price * shares).quantize(Decimal("0.01"))),
                    "acquired": acquired.isoformat(),
                }
            )
        out.append(
            {
                "account_id": f"bench-{k:02d}",
                "taxable": True,
                "cash": str(int(rng.uniform(0, 15000))),
                "band": 5,
                "target": TARGETS[k % len(TARGETS)],
                "lots": lots,
            }
        )
    return out


def load_accounts() -> list[AccountSnapshot]:
    docs = json.loads(ACCOUNTS.read_text())
    accounts = []
    for d in docs:
        lots = tuple(
            TaxLot(
                lot_id=x["lot_id"],
                symbol=x["symbol"],
                shares=Decimal(x["shares"]),
                cost_basis=Decimal(x["cost_basis"]),
                acquired=date.fromisoformat(x["acquired"]),
            )
            for x in d["lots"]
        )
        accounts.append(
            AccountSnapshot(
                account_id=d["account_id"],
                taxable=d["taxable"],
                cash=Decimal(d["cash"]),
                lots=lots,
                target={c: Decimal(v) for c, v in d["target"].items()},
            )
        )
    return accounts


def class_covariance() -> np.ndarray:
    """Annualized covariance of weekly returns (adjusted close) of the class proxies, cash 0, 3 years."""
    series = []
    for cls in ("equity", "bond", "reit", "commodity"):
        rows = [(d, c) for d, _, c in history(PROXY[cls]) if d > date(2023, 5, 1) and d.weekday() == 4]
        closes = np.array([c for _, c in rows])
        series.append(np.diff(np.log(closes)))
    n = min(len(s) for s in series)
    cov = np.cov(np.array([s[-n:] for s in series])) * 52
    out = np.zeros((5, 5))
    out[:4, :4] = cov
    return out


CLASSES = ("equity", "bond", "reit", "commodity", "cash")


def metrics(plan, target, cov) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    dev = np.array([float(plan.after.get(c, 0)) - float(target.get(c, 0)) for c in CLASSES]) / 100
    te = float(np.sqrt(dev @ cov @ dev)) * 100
    return float(np.max(np.abs(dev))) * 100, te, float(plan.estimated_tax), float(plan.estimated_costs)


def main() -> None:
    if not ACCOUNTS.exists():
        ACCOUNTS.parent.mkdir(parents=True, exist_ok=True)
        ACCOUNTS.write_text(json.dumps(generate(), separators=(",", ":")))
    accounts = load_accounts()
    symbols = sorted({lot.symbol for a in accounts for lot in a.lots} | {"VTI", "BND", "VNQ", "GLD"})
    prices = {s: price_on(s, AS_OF) for s in symbols}
    cov = class_covariance()
    methods = ("optimizer", "heuristic", "naive")
    rows: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in methods}
    solvers: dict[str, set[str]] = {m: set() for m in methods}
    gains_embedded = 0.0
    for acct in accounts:
        target = {c: acct.target.get(c, Decimal(0)) for c in CLASSES}
        for m in methods:
            plan = plan_rebalance(acct, prices, as_of=AS_OF, options=PlanOptions(method=m), tax=TAX)
            rows[m].append(metrics(plan, target, cov))
            solvers[m].add(plan.solver.split(" (")[0] if m != "optimizer" else plan.solver)
        gains_embedded += sum(float(lot.shares * prices[lot.symbol] - lot.cost_basis) for lot in acct.lots)
    before = []
    for acct in accounts:
        book = build_book(acct, prices, as_of=AS_OF, securities=default_securities(), tax=TAX)
        vals = book.class_values()
        before.append(max(abs(float(vals[c] / book.total * 100 - acct.target.get(c, Decimal(0)))) for c in CLASSES))
    print(
        f"{len(accounts)} taxable accounts, 20 securities and 100 lots each; embedded net gain ${gains_embedded:,.0f}"
    )
    print(f"before trading: mean max |class deviation| {statistics.mean(before):.2f} pts")
    print()
    header = (
        f"{'method':<12}{'max|dev| mean':>14}{'max|dev| worst':>15}{'TE mean (pts)':>14}"
        f"{'tax total $':>14}{'tax mean $':>12}{'cost total $':>14}"
    )
    print(header)
    print("-" * len(header))
    for m in methods:
        r = np.array(rows[m])
        print(
            f"{m:<12}{r[:, 0].mean():>14.3f}{r[:, 0].max():>15.3f}{r[:, 1].mean():>14.3f}"
            f"{r[:, 2].sum():>14,.0f}{r[:, 2].mean():>12,.0f}{r[:, 3].sum():>14,.0f}"
        )
    opt, naive = np.array(rows["optimizer"]), np.array(rows["naive"])
    print()
    print(
        f"optimizer vs naive: tax {opt[:, 2].sum() / naive[:, 2].sum():.1%} of naive; "
        f"accounts where optimizer drift <= naive drift: "
        f"{(opt[:, 0] <= naive[:, 0] + 1e-9).sum()}/{len(accounts)}"
    )
    print(f"solvers: {', '.join(sorted(solvers['optimizer']))}")
    timing(accounts, prices)


def _time(fn, reps: int = 1) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def timing(accounts: list[AccountSnapshot], prices: dict[str, Decimal]) -> None:
    qps = []
    for acct in accounts:
        book = build_book(acct, prices, as_of=AS_OF, securities=default_securities(), tax=TAX)
        qps.append(prepare_qp(book, PlanOptions(), TAX, None)[0])
    shapes = sorted({(q.n_sec, q.n_lots) for q in qps})
    print()
    print(f"solve time per account, one core (OMP_NUM_THREADS=1), QP sizes {shapes[0]}..{shapes[-1]}")
    results = []
    compile_osqp = _time(lambda: solve_osqp(qps[0]))
    osqp_t = [_time(lambda q=q: solve_osqp(q), 5) for q in qps]
    results.append(("OSQP direct (sparse, built per account)", compile_osqp, osqp_t))
    for solver in ("OSQP", "CLARABEL"):
        first = _time(lambda s=solver: solve_cvxpy(qps[0], solver=s))
        ts = [_time(lambda q=q, s=solver: solve_cvxpy(q, solver=s), 2) for q in qps]
        results.append((f"cvxpy (built per account) / {solver}", first, ts))
    plan_t = [
        _time(lambda a=a: plan_rebalance(a, prices, as_of=AS_OF, options=PlanOptions(), tax=TAX), 3) for a in accounts
    ]
    results.append(("plan_rebalance end to end (osqp)", float("nan"), plan_t))
    print(f"{'route':<42}{'first (compile)':>16}{'median ms':>11}{'p90 ms':>9}{'max ms':>9}")
    for name, first, ts in results:
        arr = np.array(ts) * 1000
        print(f"{name:<42}{first * 1000:>16.1f}{np.median(arr):>11.2f}{np.percentile(arr, 90):>9.2f}{arr.max():>9.2f}")


if __name__ == "__main__":
    if "--generate" in sys.argv:
        ACCOUNTS.parent.mkdir(parents=True, exist_ok=True)
        ACCOUNTS.write_text(json.dumps(generate(), separators=(",", ":")))
    main()
