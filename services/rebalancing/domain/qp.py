"""The tax-aware rebalance as a quadratic program, in numbers (floats live only here and in the solvers).

Units: every variable is a fraction of the account's total value ``V``.

Variables (padded to a fixed shape so one compiled problem serves many accounts):
``b`` (N) buys per security, ``s`` (L) sells per lot, ``d`` (N) net change per security,
``e`` (K) change of each class weight (cash included), ``g`` (N) factor exposure ``F d``.

minimize   alpha * ||e + (C w0 + c0 - t)||^2          squared class deviation from the goal t
         + beta  * ||g + F (w0 - w*)||^2              tracking error vs security-level targets
         + tax . s + r * (sum b + sum s)              estimated tax and proportional costs
subject to d = b - M s;  e = C d + cash flow;  g = F d;  0 <= b <= ub_b;  0 <= s <= ub_s;
           |d| <= max trade;  cash after >= reserve (+ withdrawal);  sum b + sum s <= turnover;
           gain . s <= max net gain;  tax . s <= max tax.

``F`` is the upper Cholesky factor of the covariance of returns when one is given, else
``0.2 * I`` (plain weights). Each lot's ``tax`` coefficient is its tax cost per dollar sold (gain
times the lot's rate, see :attr:`~.book.LotFacts.cost_per_share`), so the solver uses a security's
lots cheapest first, the same order the repair step applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from .book import CASH, Book
from .model import Covariance, PlanOptions

__all__ = ["CLASSES", "QPData", "build_qp", "padded_size"]

CLASSES = ("equity", "bond", "reit", "commodity", CASH)
INF = np.inf
_SEC_BUCKETS = (20, 40, 80)
_LOT_BUCKETS = (100, 200, 400, 800)
_DEFAULT_VOL = 0.2

FloatArray = npt.NDArray[np.float64]


def padded_size(n: int, buckets: tuple[int, ...]) -> int:
    """The smallest bucket holding ``n`` (beyond the largest: the next multiple of it)."""
    for size in buckets:
        if n <= size:
            return size
    step = buckets[-1]
    return -(-n // step) * step


@dataclass(frozen=True, slots=True, kw_only=True)
class QPData:
    n_sec: int  # padded N
    n_lots: int  # padded L
    symbols: tuple[str, ...]  # the first len(symbols) security slots
    lot_ids: tuple[str, ...]  # the first len(lot_ids) lot slots
    total: float
    w0: FloatArray
    wstar: FloatArray
    M: FloatArray  # N x L membership
    C: FloatArray  # K x N class membership
    c_offset: FloatArray  # K: C w0 + cash weight - target
    F: FloatArray  # N x N upper triangular
    f_offset: FloatArray  # N: F (w0 - w*)
    tax: FloatArray  # L
    gain: FloatArray  # L gain per dollar sold
    ub_b: FloatArray
    ub_s: FloatArray
    d_cap: FloatArray
    cash_lo: float
    turnover_hi: float
    gain_hi: float
    tax_hi: float
    cost_rate: float
    alpha: float
    beta: float


def _f(x: Decimal) -> float:
    return float(x)


def _factor(symbols: list[str], n: int, covariance: Covariance | None) -> FloatArray:
    F = np.eye(n) * _DEFAULT_VOL
    if covariance is None or not symbols:
        return F
    index = {s: i for i, s in enumerate(covariance.symbols)}
    known = [s for s in symbols if s in index]
    if len(known) != len(symbols):
        return F  # incomplete covariance: plain weights
    idx = [index[s] for s in symbols]
    sigma = np.asarray(covariance.matrix, dtype=float)[np.ix_(idx, idx)]
    k = len(symbols)
    sigma = sigma + np.eye(k) * 1e-8
    try:
        lower = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return F
    F[:k, :k] = lower.T
    return F


def build_qp(
    book: Book,
    options: PlanOptions,
    *,
    directions: dict[str, int],
    wstar_values: dict[str, Decimal],
    goals: dict[str, Decimal],
    covariance: Covariance | None,
    blocked_buy: frozenset[str],
) -> QPData:
    """Numbers of the QP for ``book``. ``directions``: symbol to +1 (may buy), -1 (may sell), 0;
    ``goals``: class to dollars after trading (the mode's goal, see :func:`~.drift.class_goals`)."""
    symbols = sorted(directions)
    lots = [f for f in book.lots if f.symbol in directions]
    N = padded_size(len(symbols), _SEC_BUCKETS)
    L = padded_size(len(lots), _LOT_BUCKETS)
    K = len(CLASSES)
    V = _f(book.total)
    sidx = {s: i for i, s in enumerate(symbols)}
    w0 = np.zeros(N)
    wstar = np.zeros(N)
    C = np.zeros((K, N))
    ub_b = np.zeros(N)
    d_cap = np.zeros(N)
    cap = INF if options.max_trade_amount is None else _f(options.max_trade_amount) / V
    for s, i in sidx.items():
        w0[i] = _f(book.holdings.get(s, Decimal(0))) / V
        wstar[i] = _f(wstar_values.get(s, Decimal(0))) / V
        C[CLASSES.index(book.class_of(s)), i] = 1.0
        if directions[s] > 0 and s not in blocked_buy:
            ub_b[i] = cap
        d_cap[i] = cap
    M = np.zeros((N, L))
    tax = np.zeros(L)
    gain = np.zeros(L)
    ub_s = np.zeros(L)
    for j, f in enumerate(lots):  # book order: by symbol, then relief order
        i = sidx[f.symbol]
        M[i, j] = 1.0
        gain[j] = _f(f.gain_fraction)
        tax[j] = _f(f.cost_per_share / f.price)
        if directions[f.symbol] < 0 and f.symbol not in options.exclude_symbols:
            ub_s[j] = _f(f.value) / V
    target = np.array([_f(goals[c]) / V for c in CLASSES])
    current = C @ w0
    current[CLASSES.index(CASH)] += _f(book.cash) / V
    F = _factor(symbols, N, covariance)
    budget = options.tax_budget
    withdraw = _f(options.withdraw_amount)
    return QPData(
        n_sec=N,
        n_lots=L,
        symbols=tuple(symbols),
        lot_ids=tuple(f.lot_id for f in lots),
        total=V,
        w0=w0,
        wstar=wstar,
        M=M,
        C=C,
        c_offset=current - target,
        F=F,
        f_offset=F @ (w0 - wstar),
        tax=tax,
        gain=gain,
        ub_b=ub_b,
        ub_s=ub_s,
        d_cap=d_cap,
        cash_lo=(_f(book.account.cash_reserve) + withdraw - _f(book.cash)) / V,
        turnover_hi=INF if options.turnover_cap is None else _f(options.turnover_cap) / 100,
        gain_hi=INF if budget.max_net_gain is None else _f(budget.max_net_gain) / V,
        tax_hi=INF if budget.max_tax is None else _f(budget.max_tax) / V,
        cost_rate=_f(options.costs.rate),
        alpha=options.drift_aversion,
        beta=options.tracking_aversion,
    )
