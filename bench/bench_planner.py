"""Planner benchmark: optimality against an exact whole-share reference, and speed at scale.

Run: ``OMP_NUM_THREADS=1 python -m bench planner`` (prints two tables; not a test).

**Optimality.** 60 generated taxable accounts (5-20 of the shipped funds, 20-100 lots each bought on a
real trading day at that day's real close, cash funds in some, targets with and without cash; numpy
Generator with a fixed seed), planned in full mode with the default options on 2026-05-01. For each
account an exact reference (HiGHS MILP, ``highspy``) solves: minimum estimated tax + trading cost
(the shared cost model) with whole shares, any priced shipped fund to buy, no buy and sell in one
identical group (a binary per group), cash at or above the reserve, and every asset class within
the planner's own final deviation from target. The planner's plan is a feasible point of that
problem, so the gap (planner minus reference, in basis points of the account) is what the planner
leaves on the table. A "losses first, then highest cost" sell-down (each class to its target;
overweight classes sell lots with the highest basis per dollar first, underweight classes buy their
largest holding) is the hand-run comparator: how often it pays less tax than the planner at equal or
better drift (max |class deviation| at most the planner's + 0.05 points).

**Speed.** Whole ``plan_rebalance`` (book, directions, QP, repair, reasons) on one core, for 20
securities / 100 lots, 100 / 500 and 500 / 2,500. Beyond the 70 shipped funds the universe gets
synthetic securities that reuse a real fund's price series scaled (each its own identical group), so
gains and losses stay real. Memory: tracemalloc peak of one plan (Python and numpy allocations, not
OSQP's own C workspace) and the process's max RSS, which is mostly the imports (cvxpy, scipy, numpy,
highspy) and the price history; so the 500 / 2,500 plan is also run in a fresh process that imports
what the rebalancing service imports, receives the account pickled (as the service receives it in a
message) and prints its resident memory before and after the plan (:mod:`bench.planner_memory`).
"""

from __future__ import annotations

import os
import pickle
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

import highspy
import numpy as np

from bench.bench_rebalance import AS_OF, history, price_on
from services.rebalancing.domain import (
    AccountSnapshot,
    Covariance,
    PlanOptions,
    RebalancePlan,
    TaxInputs,
    TaxLot,
    plan_rebalance,
)
from services.rebalancing.domain import qp as qp_module
from services.rebalancing.domain.book import CASH, Book, LotFacts, build_book
from services.rebalancing.domain.buys import buy_candidates, split_buy
from services.rebalancing.domain.drift import class_goals
from services.rebalancing.domain.finalize import finalize
from services.rebalancing.domain.intent import Intent
from shared.securities import ASSET_CLASSES, Security, SecurityMaster, default_securities

SEED = 9_2026
N_ACCOUNTS = 60
RATES = [(Decimal("0.37"), Decimal("0.20")), (Decimal("0.32"), Decimal("0.15")), (Decimal("0.24"), Decimal("0.15"))]
TARGETS = [
    {"equity": 60, "bond": 30, "reit": 5, "commodity": 3, "cash": 2},
    {"equity": 70, "bond": 20, "reit": 6, "commodity": 4},
    {"equity": 45, "bond": 45, "reit": 5, "commodity": 5},
    {"equity": 50, "bond": 35, "reit": 5, "cash": 10},
    {"equity": 80, "bond": 15, "reit": 5},
]
DRIFT_TOLERANCE = 0.05  # points: the sell-down "matches" the planner's drift within this


def _universe() -> dict[str, list[str]]:
    sec = default_securities()
    out: dict[str, list[str]] = {c: [] for c in ASSET_CLASSES}
    for symbol in sec:
        try:
            if history(symbol)[0][0] < date(2024, 1, 1):
                out[sec.asset_class(symbol)].append(symbol)
        except FileNotFoundError:
            continue
    return out


def _random_day(rng: np.random.Generator, symbol: str) -> date:
    days = [d for d, _, _ in history(symbol) if date(2012, 1, 1) <= d <= date(2026, 4, 24)]
    return days[int(rng.integers(len(days)))]


def generate_accounts(n: int = N_ACCOUNTS, seed: int = SEED) -> list[tuple[AccountSnapshot, TaxInputs]]:
    """Realistic taxable accounts: real funds, real purchase days, real closes."""
    rng = np.random.default_rng(seed)
    pool = _universe()
    out = []
    for k in range(n):
        target = TARGETS[k % len(TARGETS)]
        n_sec = int(rng.integers(5, 21))
        classes = [c for c in target if c != CASH]
        symbols: list[str] = []
        for c in classes:  # one fund per targeted class at least
            symbols.append(pool[c][int(rng.integers(len(pool[c])))])
        if rng.random() < 0.35:
            symbols.append(pool[CASH][int(rng.integers(len(pool[CASH])))])
        weights = np.array([target[c] for c in classes], dtype=float)
        while len(set(symbols)) < n_sec:
            c = classes[int(rng.choice(len(classes), p=weights / weights.sum()))]
            symbols.append(pool[c][int(rng.integers(len(pool[c])))])
        symbols = sorted(set(symbols))
        tilt = {s: float(rng.uniform(0.5, 1.6)) for s in symbols}
        n_lots = int(rng.integers(max(20, len(symbols)), 101))
        lots = []
        for j in range(n_lots):
            symbol = symbols[j] if j < len(symbols) else symbols[int(rng.integers(len(symbols)))]
            day = _random_day(rng, symbol)
            price = price_on(symbol, day)
            shares = max(1, int(float(rng.uniform(1000, 8000)) * tilt[symbol] / float(price)))
            lots.append(
                TaxLot(
                    lot_id=f"p{k:02d}-{j:03d}",
                    symbol=symbol,
                    shares=Decimal(shares),
                    cost_basis=(price * shares).quantize(Decimal("0.01")),
                    acquired=day,
                )
            )
        st, lt = RATES[k % len(RATES)]
        acct = AccountSnapshot(
            account_id=f"opt-{k:02d}",
            taxable=True,
            cash=Decimal(int(rng.uniform(0, 12_000))),
            lots=tuple(lots),
            target={c: Decimal(v) for c, v in target.items()},
            cash_reserve=Decimal(int(rng.choice([0, 500, 1000]))),
        )
        out.append((acct, TaxInputs(short_term_rate=st, long_term_rate=lt)))
    return out


def all_prices() -> dict[str, Decimal]:
    out = {}
    for symbol in default_securities():
        try:
            out[symbol] = price_on(symbol, AS_OF)
        except (FileNotFoundError, IndexError):
            continue
    return out


# -- the exact reference -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    objective: float  # tax + cost, dollars
    tax: float
    status: str


def exact_reference(book: Book, plan: RebalancePlan, options: PlanOptions, prices: dict[str, Decimal]) -> Reference:
    """Minimum tax + cost, whole shares, no buy and sell in one identical group, cash >= reserve and each
    class within the plan's own final deviation from target (HiGHS MILP)."""
    sec = book.securities
    rate = float(options.costs.rate)
    V = float(book.total)
    lots: list[LotFacts] = list(book.lots)
    buys = sorted(s for s in prices if s in sec and sec.asset_class(s) != CASH)
    groups = sorted({sec.identical_group(f.symbol) for f in lots} | {sec.identical_group(s) for s in buys})
    gidx = {g: i for i, g in enumerate(groups)}
    nl, nb, ng = len(lots), len(buys), len(groups)
    n = nl + nb + ng
    cost = np.zeros(n)
    lower = np.zeros(n)
    upper = np.zeros(n)
    integrality = []
    for j, f in enumerate(lots):
        cost[j] = float(f.cost_per_share) + rate * float(f.price)
        upper[j] = float(f.lot.shares)
        integrality.append(highspy.HighsVarType.kInteger)
    for i, s in enumerate(buys):
        cost[nl + i] = rate * float(prices[s])
        upper[nl + i] = np.floor(V / float(prices[s]))
        integrality.append(highspy.HighsVarType.kInteger)
    for g in range(ng):
        upper[nl + nb + g] = 1.0
        integrality.append(highspy.HighsVarType.kInteger)
    rows: list[tuple[dict[int, float], float, float]] = []
    inf = highspy.kHighsInf
    # group direction: x_j <= shares z_g ; y_i <= U_i (1 - z_g)
    for j, f in enumerate(lots):
        rows.append(({j: 1.0, nl + nb + gidx[sec.identical_group(f.symbol)]: -float(f.lot.shares)}, -inf, 0.0))
    for i, s in enumerate(buys):
        g = nl + nb + gidx[sec.identical_group(s)]
        rows.append(({nl + i: 1.0, g: upper[nl + i]}, -inf, upper[nl + i]))
    # cash after >= reserve: cash + sum x p (1 - r) - sum y p (1 + r) >= reserve
    cash_row = {j: float(f.price) * (1 - rate) for j, f in enumerate(lots)}
    cash_row.update({nl + i: -float(prices[s]) * (1 + rate) for i, s in enumerate(buys)})
    rows.append((cash_row, float(book.account.cash_reserve - book.cash), inf))
    # classes: value_after - (t +- dev) * total_after within bounds; total_after = V - r * traded
    values = book.class_values()
    for cls in ASSET_CLASSES:
        t = float(book.target[cls]) / 100
        dev = abs(float(plan.after[cls]) - float(book.target[cls])) / 100 + 1e-7
        coef: dict[int, float] = {}
        for j, f in enumerate(lots):
            c = -float(f.price) if sec.asset_class(f.symbol) == cls else 0.0
            if cls == CASH:
                c += float(f.price) * (1 - rate)
            coef[j] = c
        for i, s in enumerate(buys):
            c = float(prices[s]) if sec.asset_class(s) == cls else 0.0
            if cls == CASH:
                c -= float(prices[s]) * (1 + rate)
            coef[nl + i] = c
        # total_after coefficients: -r * p for every traded dollar
        tot = {j: -rate * float(f.price) for j, f in enumerate(lots)}
        tot.update({nl + i: -rate * float(prices[s]) for i, s in enumerate(buys)})
        v0 = float(values[cls])
        for sign, bound in ((1, t + dev), (-1, t - dev)):
            # value_after <= (t + dev) * total_after   and   value_after >= (t - dev) * total_after
            row = {k: coef.get(k, 0.0) - bound * tot.get(k, 0.0) for k in set(coef) | set(tot)}
            rhs = bound * V - v0
            rows.append((row, -inf, rhs) if sign == 1 else (row, rhs, inf))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", 10.0)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.array([lo for _, lo, _ in rows])
    lp.row_upper_ = np.array([hi for _, _, hi in rows])
    starts, index, vals = [0], [], []
    by_col: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for r, (row, _, _) in enumerate(rows):
        for k, v in row.items():
            if v != 0.0:
                by_col[k].append((r, v))
    for col in by_col:
        for r, v in col:
            index.append(r)
            vals.append(v)
        starts.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(vals)
    lp.integrality_ = integrality
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.array(h.getSolution().col_value)
    tax = sum(float(f.cost_per_share) * round(x[j]) for j, f in enumerate(lots))
    return Reference(objective=float(h.getInfo().objective_function_value), tax=tax, status=status)


# -- the hand-run sell-down ----------------------------------------------------------------------------


def sell_down(book: Book, options: PlanOptions, tax: TaxInputs) -> RebalancePlan:
    """Each class to target; overweight classes sell lots with the highest basis per dollar first
    (losses first), across the class's holdings; underweight classes buy their largest holding."""
    intent = Intent(drift_driven=True)
    goals = class_goals(book, options)
    values = book.class_values()
    sold_groups: set[str] = set()
    for cls in book.target:
        delta = goals[cls] - values[cls]
        if cls == CASH or delta >= 0:
            continue
        lots = sorted(
            (f for f in book.lots if book.class_of(f.symbol) == cls),
            key=lambda f: (-(f.lot.cost_basis / f.lot.shares) / f.price, f.lot_id),
        )
        left = -delta
        for f in lots:
            if left <= 0:
                break
            take = min(f.lot.shares, (left / f.price).to_integral_value(rounding=ROUND_CEILING))
            intent.add_sell(f.lot_id, take)
            left -= take * f.price
            sold_groups.add(book.securities.identical_group(f.symbol))
    for cls in book.target:
        delta = goals[cls] - values[cls]
        if cls == CASH or delta <= 0:
            continue
        symbols = buy_candidates(book, cls, blocked=frozenset(), sold_groups=sold_groups)
        symbols = sorted(symbols, key=lambda s: (-book.holdings.get(s, Decimal(0)), s))[:1]
        for s, dollars in split_buy(book, symbols, delta).items():
            intent.add_buy(s, dollars)
    return finalize(book, options, tax, intent, solver="sell-down")


def _max_dev(plan: RebalancePlan, book: Book) -> float:
    return max(abs(float(plan.after[c] - book.target[c])) for c in book.target)


def optimality() -> None:
    prices = all_prices()
    options = PlanOptions()
    gaps, planner_tax, ref_tax, wins, matched, statuses, drift = [], 0.0, 0.0, 0, 0, [], []
    t0 = time.perf_counter()
    accounts = generate_accounts()
    for acct, tax in accounts:
        book = build_book(acct, prices, as_of=AS_OF, securities=default_securities(), tax=tax)
        plan = plan_rebalance(acct, prices, as_of=AS_OF, options=options, tax=tax)
        ref = exact_reference(book, plan, options, prices)
        statuses.append(ref.status)
        mine = float(plan.estimated_tax + plan.estimated_costs)
        gaps.append((mine - ref.objective) / float(book.total) * 10_000)
        planner_tax += float(plan.estimated_tax)
        ref_tax += ref.tax
        sd = sell_down(book, options, tax)
        drift.append(_max_dev(plan, book))
        if _max_dev(sd, book) <= _max_dev(plan, book) + DRIFT_TOLERANCE:
            matched += 1
            wins += sd.estimated_tax < plan.estimated_tax
    n = len(accounts)
    gap = np.array(gaps)
    print(
        f"{n} taxable accounts (5-20 shipped funds, 20-100 lots on real days at real closes), full mode, "
        f"costs {options.costs.rate * 10_000} bp a side; reference: HiGHS MILP ({time.perf_counter() - t0:.0f} s)"
    )
    print(f"reference status: {', '.join(f'{s} x{statuses.count(s)}' for s in sorted(set(statuses)))}")
    print()
    print(f"{'measure':<58}{'value':>14}{'target':>12}")
    print("-" * 84)
    rows = [
        ("gap to the exact optimum, median (bp of account)", f"{np.median(gap):.2f}", "<= 1"),
        ("gap to the exact optimum, p90 (bp of account)", f"{np.percentile(gap, 90):.2f}", "<= 5"),
        ("gap to the exact optimum, max (bp of account)", f"{gap.max():.2f}", ""),
        ("total tax: planner $", f"{planner_tax:,.0f}", ""),
        ("total tax: reference $", f"{ref_tax:,.0f}", ""),
        (
            "total tax: planner minus reference, % of |reference|",
            f"{(planner_tax - ref_tax) / abs(ref_tax):.1%}",
            "<= 10%",
        ),
        ("sell-down reaches the planner's drift (+0.05 pts)", f"{matched}/{n}", ""),
        ("sell-down pays less tax at equal or better drift", f"{wins}/{n} ({wins / n:.0%})", "<= 5%"),
        ("planner max |class deviation| after, median (points)", f"{statistics.median(drift):.3f}", ""),
    ]
    for name, value, target in rows:
        print(f"{name:<58}{value:>14}{target:>12}")


# -- speed at scale ------------------------------------------------------------------------------------


def scaled_universe(n_sec: int, rng: np.random.Generator) -> tuple[SecurityMaster, dict[str, str], dict[str, float]]:
    """``n_sec`` securities: shipped funds, then synthetic ones reusing a real fund's series (scaled),
    each its own identical group. Returns the master, symbol -> real series, symbol -> price scale."""
    base = default_securities()
    real = [s for c in ("equity", "bond", "reit", "commodity") for s in _universe()[c]]
    chosen = real[:n_sec]
    rows = [base[s] for s in chosen]
    series = {s: s for s in chosen}
    scale = {s: 1.0 for s in chosen}
    k = 0
    while len(rows) < n_sec:
        src = real[k % len(real)]
        k += 1
        symbol = f"{src}X{k}"
        b = base[src]
        rows.append(
            Security(
                symbol=symbol,
                name=f"synthetic {src} {k}",
                asset_class=b.asset_class,
                category=b.category,
                identical_group=f"synthetic:{symbol}",
            )
        )
        series[symbol] = src
        scale[symbol] = float(rng.uniform(0.3, 3.0))
    others = [base[s] for s in base if s not in series]  # keep the rest of the master (defaults, cash funds)
    return SecurityMaster(rows + others), series, scale


def covariance_for(master: SecurityMaster, symbols: list[str]) -> Covariance:
    """Annualized covariance of weekly returns over 3 years; a synthetic security follows its real
    series plus 10% idiosyncratic volatility."""
    rows = []
    for s in symbols:
        name = s.rpartition("X")[0] if s not in default_securities() else s
        closes = [c for d, _, c in history(name) if d > date(2023, 5, 1) and d.weekday() == 4]
        rows.append(np.diff(np.log(np.array(closes))))
    n = min(len(r) for r in rows)
    cov = np.cov(np.array([r[-n:] for r in rows])) * 52
    synthetic = np.array([s not in default_securities() for s in symbols], dtype=float)
    return Covariance(symbols=tuple(symbols), matrix=cov + np.diag(0.01 * synthetic + 1e-6))


def scaled_account(n_sec: int, n_lots: int, seed: int) -> tuple[AccountSnapshot, dict[str, Decimal], SecurityMaster]:
    rng = np.random.default_rng(seed)
    master, series, scale = scaled_universe(n_sec, rng)
    symbols = sorted(series)
    prices = {}
    for s in master:
        src = series.get(s, s)
        try:
            prices[s] = (price_on(src, AS_OF) * Decimal(repr(scale.get(s, 1.0)))).quantize(Decimal("0.01"))
        except (FileNotFoundError, IndexError):
            continue
    lots = []
    for j in range(n_lots):
        s = symbols[j % len(symbols)]
        day = _random_day(rng, series[s])
        price = (price_on(series[s], day) * Decimal(repr(scale[s]))).quantize(Decimal("0.01"))
        shares = max(1, int(float(rng.uniform(1000, 8000)) / float(price)))
        lots.append(
            TaxLot(
                lot_id=f"l{j:05d}",
                symbol=s,
                shares=Decimal(shares),
                cost_basis=price * shares,
                acquired=day,
            )
        )
    acct = AccountSnapshot(
        account_id=f"scale-{n_sec}",
        taxable=True,
        cash=Decimal(5000),
        lots=tuple(lots),
        target={"equity": Decimal(55), "bond": Decimal(35), "reit": Decimal(5), "commodity": Decimal(5)},
    )
    return acct, prices, master


def speed() -> None:
    tax = TaxInputs(short_term_rate=Decimal("0.37"), long_term_rate=Decimal("0.20"))
    options = PlanOptions()
    print()
    print("whole plan_rebalance, one core (run with OMP_NUM_THREADS=1), full mode, no covariance;")
    print("CPU ms is this process's CPU time per plan (what one core spends, also on a busy machine)")
    head = f"{'securities / lots':<20}{'CPU ms':>9}{'CPU p90':>9}{'plans/s':>9}{'wall ms':>9}{'peak MB':>9}  target"
    print(head)
    targets = {20: ">= 1,000 plans/s", 100: "<= 20 ms", 500: "<= 300 ms and <= 200 MB"}
    read: list[float] = []  # 20 / 100: the plan and every trade's reason read (rendered on first read)
    for n_sec, n_lots, reps in ((20, 100, 30), (100, 500, 10), (500, 2500, 3)):
        cases = [scaled_account(n_sec, n_lots, seed) for seed in range(5)]
        times, walls = [], []
        for acct, prices, master in cases:
            plan_rebalance(acct, prices, as_of=AS_OF, options=options, tax=tax, securities=master)
            for _ in range(reps):
                w, t = time.perf_counter(), time.process_time()
                plan_rebalance(acct, prices, as_of=AS_OF, options=options, tax=tax, securities=master)
                times.append(time.process_time() - t)
                walls.append(time.perf_counter() - w)
            for _ in range(reps if n_sec == 20 else 0):
                t = time.process_time()
                for trade in plan_rebalance(
                    acct, prices, as_of=AS_OF, options=options, tax=tax, securities=master
                ).trades:
                    _ = trade.reason
                read.append(time.process_time() - t)
        acct, prices, master = cases[0]
        tracemalloc.start()
        plan_rebalance(acct, prices, as_of=AS_OF, options=options, tax=tax, securities=master)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        ms = np.array(times) * 1000
        print(
            f"{f'{n_sec} / {n_lots}':<20}{np.median(ms):>9.2f}{np.percentile(ms, 90):>9.2f}"
            f"{1000 / np.median(ms):>9.0f}{np.median(walls) * 1000:>9.2f}{peak:>9.1f}  {targets[n_sec]}"
        )
    print(
        f"{'20 / 100 + reasons':<20}{np.median(read) * 1000:>9.2f}{np.percentile(read, 90) * 1000:>9.2f}"
        f"{1 / np.median(read):>9.0f}   (the plan, then every trade's reason read: a sell's text is built then)"
    )
    acct, prices, master = scaled_account(500, 2500, 0)
    cov = covariance_for(master, sorted({lot.symbol for lot in acct.lots} | {"VTI", "BND", "VNQ", "GLD"}))
    times = []
    qp_module._FACTORED.clear()  # the first plan factors the covariance, the others reuse it (as in a batch)
    for _ in range(4):
        t = time.process_time()
        plan_rebalance(acct, prices, as_of=AS_OF, options=options, tax=tax, securities=master, covariance=cov)
        times.append(time.process_time() - t)
    print(
        f"{'500 / 2500 + cov':<20}{np.median(times[1:]) * 1000:>9.2f}   (a 500 x 500 covariance: 10 factors + "
        f"diagonal, factored once per batch; the first plan, which factors it: {times[0] * 1000:.2f} ms)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process's max RSS {rss:.0f} MB (imports and data included)")
    memory()


def memory() -> None:
    """The 500 / 2,500 plan's memory, measured in a fresh process (this one's RSS is mostly the bench's
    own imports, cvxpy and highspy among them, and the price history): see :mod:`bench.planner_memory`."""
    acct, prices, master = scaled_account(500, 2500, 0)
    out = subprocess.run(
        [sys.executable, "-m", "bench.planner_memory", AS_OF.isoformat()],
        input=pickle.dumps((acct, prices, master)),
        capture_output=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    print(out.stdout.decode().strip())


def main() -> None:
    optimality()
    speed()


if __name__ == "__main__":
    main()
