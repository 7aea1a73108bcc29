"""The tax-aware rebalance as a sparse quadratic program, in numbers (floats live only here and in the solvers).

Units: every variable is a fraction of the account's total value ``V``.

Variables: ``b`` (N) buys per security, ``s`` (L) sells per lot, ``d`` (N) net change per security,
``e`` (K) change of each class weight (cash included), ``g`` (R) exposure to the risk factors.

minimize   alpha * ||e + (C w0 + c0 - t)||^2                    squared class deviation from the goal t
         + beta  * (||g + G f||^2 + sum_i h_i (d_i + f_i)^2)    tracking error vs security targets w*
         + tax . s + r * (sum b + sum s)                        estimated tax and proportional costs
with ``f = w0 - w*``, subject to d = b - M s;  e = C d + cash flow;  g = G d;  0 <= b <= ub_b;
0 <= s <= ub_s;  |d| <= max trade;  cash after >= reserve (+ withdrawal);  sum b + sum s <= turnover;
gain . s <= max net gain;  tax . s <= max tax (the last four rows only when they bind anything).

The covariance of returns is ``G' G + diag(h)``: with a covariance given, ``G`` holds its leading
eigenvectors (at most :data:`_FACTORS`, scaled by the root of their eigenvalue) and ``h`` what they
leave on the diagonal; without one, a class factor (20% volatility, every security of a class moves
with it) and 10% idiosyncratic volatility, so a swap inside a class costs little tracking error. ``M``
(lot membership) and ``C`` (class membership) are sparse: one entry per lot and per security; no
dense block or factor triangle, so 500 securities with 2,500 lots stay a small problem.

Each lot's ``tax`` coefficient is its tax cost per dollar sold (gain times the lot's rate, see
:attr:`~.book.LotFacts.cost_per_share`), so the solver uses a security's lots cheapest first, the
same order the repair step applies.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .book import CASH, Book, LotFacts
from .model import Covariance, PlanOptions

__all__ = ["CLASSES", "QPData", "build_qp"]

CLASSES = ("equity", "bond", "reit", "commodity", CASH)
_CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}
INF = np.inf
_CLASS_VOL = 0.2
_IDIO_VOL = 0.1
_FACTORS = 10

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class QPData:
    symbols: tuple[str, ...]  # N securities
    lot_ids: tuple[str, ...]  # L lots
    total: float
    w0: FloatArray
    wstar: FloatArray
    lot_sec: IntArray  # L: the security of each lot (lot membership M, one entry per lot)
    sec_class: IntArray  # N: the class of each security (class membership C, one entry per security)
    c_offset: FloatArray  # K: C w0 + cash weight - target
    G: FloatArray  # R x N factor loadings (R small)
    h: FloatArray  # N idiosyncratic variances
    f: FloatArray  # N: w0 - w*
    tax: FloatArray  # L tax cost per dollar sold
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

    @property
    def M(self) -> sp.csr_matrix:
        """N x L lot membership."""
        L = len(self.lot_ids)
        return sp.csr_matrix((np.ones(L), (self.lot_sec, np.arange(L))), shape=(self.n_sec, L))

    @property
    def C(self) -> sp.csr_matrix:
        """K x N class membership."""
        N = self.n_sec
        return sp.csr_matrix((np.ones(N), (self.sec_class, np.arange(N))), shape=(len(CLASSES), N))

    @property
    def n_sec(self) -> int:
        return len(self.symbols)

    @property
    def n_lots(self) -> int:
        return len(self.lot_ids)


def _f(x: Decimal) -> float:
    return float(x)


def _lot_floats(lots: tuple[LotFacts, ...]) -> tuple[tuple[str, ...], FloatArray, FloatArray, FloatArray]:
    """Per lot, in one pass: its id, its shares, its cost basis and its tax cost per dollar of gain (the lot's
    rate, or minus its term's rate for a washed loss, whose cost is the saving it forfeits, see
    :attr:`~.book.LotFacts.cost_per_share`), as floats. ``float()`` per Decimal (the same floats as
    numpy's own conversion, at 2/3 of its cost); a book's lots share two or three rate objects, each
    converted once."""
    ids: list[str] = []
    shares: list[float] = []
    basis: list[float] = []
    rates: list[float] = []
    add_id, add_shares, add_basis, add_rate = ids.append, shares.append, basis.append, rates.append
    rate_floats: dict[Decimal, float] = {}
    washed = []
    for k, (lot, _, _, _, rate, is_washed, _) in enumerate(lots):
        add_id(lot.lot_id)
        add_shares(float(lot.shares))
        add_basis(float(lot.cost_basis))
        x = rate_floats.get(rate)
        if x is None:
            x = rate_floats[rate] = float(rate)
        add_rate(x)
        if is_washed:
            washed.append(k)
    out = np.array(rates, dtype=float)
    for k in washed:
        f = lots[k]
        out[k] = float(f.cost_per_share / f.gain_per_share)
    return tuple(ids), np.array(shares, dtype=float), np.array(basis, dtype=float), out


_FACTORED_MAX = 8
_FACTORED: OrderedDict[tuple[tuple[str, ...], tuple[str, ...], bytes], tuple[FloatArray, FloatArray]] = OrderedDict()
"""``G`` and ``h`` per (covariance symbols, securities of the plan, digest of the covariance matrix),
least recently used out beyond :data:`_FACTORED_MAX` entries (each holds ``11 x N`` floats: 44 KB at
500 securities). A batch plans thousands of accounts on one date with one covariance, and accounts
holding the same securities need the same ``eigh`` (a 500 x 500 one costs tens of milliseconds,
the digest about a millisecond). Keyed by content, never by object identity: a memo of a pure
function, the same inputs give the same (read-only) arrays."""


def _risk_model(
    symbols: list[str], sec_class: IntArray, covariance: Covariance | None
) -> tuple[FloatArray, FloatArray]:
    """Factor loadings ``G`` (R x N) and idiosyncratic variances ``h`` (N)."""
    n = len(symbols)
    loadings = np.zeros((len(CLASSES), n))
    loadings[sec_class, np.arange(n)] = _CLASS_VOL
    default = (loadings, np.full(n, _IDIO_VOL**2))
    if covariance is None or not symbols:
        return default
    index = {s: i for i, s in enumerate(covariance.symbols)}
    if any(s not in index for s in symbols):
        return default  # incomplete covariance: the default model
    matrix = np.ascontiguousarray(covariance.matrix, dtype=float)
    key = (covariance.symbols, tuple(symbols), hashlib.blake2b(matrix.data, digest_size=16).digest())
    cached = _FACTORED.get(key)
    if cached is not None:
        _FACTORED.move_to_end(key)
        return cached
    G, h = _factor(matrix, [index[s] for s in symbols], n)
    G.setflags(write=False)
    h.setflags(write=False)
    _FACTORED[key] = (G, h)
    if len(_FACTORED) > _FACTORED_MAX:
        _FACTORED.popitem(last=False)
    return G, h


def _factor(matrix: FloatArray, idx: list[int], n: int) -> tuple[FloatArray, FloatArray]:
    """The leading eigenvectors of the covariance of the securities at ``idx`` and what they leave."""
    sigma = matrix[np.ix_(idx, idx)]
    sigma = (sigma + sigma.T) / 2
    values, vectors = np.linalg.eigh(sigma)
    keep = min(_FACTORS, n)
    values, vectors = values[-keep:], vectors[:, -keep:]
    values = np.clip(values, 0.0, None)
    G = (vectors * np.sqrt(values)).T
    h = np.clip(np.diag(sigma) - np.sum(G * G, axis=0), 1e-8, None)
    return G, h


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
    N = len(symbols)
    K = len(CLASSES)
    V = _f(book.total)
    zero = Decimal(0)
    cap = INF if options.max_trade_amount is None else _f(options.max_trade_amount) / V
    excluded = options.exclude_symbols
    # per security, in one pass: weight now and targeted, class, buy bound, price (1 if not held: no
    # lot uses it), whether it may be sold
    holdings, prices = book.holdings, book.prices
    classes = book.classes  # every held symbol; the others from the securities master
    w0_list: list[float] = []
    wstar_list: list[float] = []
    class_list: list[int] = []
    ub_b_list: list[float] = []
    price_list: list[float] = []
    sellable_list: list[bool] = []
    for s in symbols:
        held = holdings.get(s)
        direction = directions[s]
        w0_list.append(float(held if held is not None else zero) / V)
        wstar_list.append(float(wstar_values.get(s, zero)) / V)
        class_list.append(_CLASS_INDEX[classes[s] if s in classes else book.class_of(s)])
        ub_b_list.append(cap if direction > 0 and s not in blocked_buy else 0.0)
        price_list.append(float(prices[s]) if held is not None else 1.0)
        sellable_list.append(direction < 0 and s not in excluded)
    w0 = np.array(w0_list, dtype=float)
    wstar = np.array(wstar_list, dtype=float)
    sec_class = np.array(class_list, dtype=np.int64)
    ub_b = np.array(ub_b_list, dtype=float)
    d_cap = np.full(N, cap)
    # the lots, in the book's order: security order, each security's lots in tax order (every held
    # security has a direction, so these are the lots of ``symbols`` in that order); the per-lot
    # numbers are computed with numpy from the lots' shares, basis and their security's price
    lots = book.lots
    index = {s: i for i, s in enumerate(symbols)}
    by_symbol = book.by_symbol  # the book's lots are these runs, one per symbol, in this order
    lot_sec = np.repeat(
        np.array([index[s] for s in by_symbol], dtype=np.int64), [len(run) for run in by_symbol.values()]
    )
    price = np.array(price_list, dtype=float)[lot_sec]
    lot_ids, lot_shares, basis, rates = _lot_floats(lots)
    gain = (price - basis / lot_shares) / price  # gain per dollar sold
    tax = gain * rates  # tax per dollar sold (see LotFacts.cost_per_share)
    sellable = np.array(sellable_list, dtype=bool)[lot_sec]
    ub_s = np.where(sellable, lot_shares * price / V, 0.0)
    target = np.array([_f(goals[c]) / V for c in CLASSES])
    current = np.bincount(sec_class, weights=w0, minlength=K).astype(float)
    current[CLASSES.index(CASH)] += _f(book.cash) / V
    G, h = _risk_model(symbols, sec_class, covariance)
    budget = options.tax_budget
    withdraw = _f(options.withdraw_amount)
    return QPData(
        symbols=tuple(symbols),
        lot_ids=lot_ids,
        total=V,
        w0=w0,
        wstar=wstar,
        lot_sec=lot_sec,
        sec_class=sec_class,
        c_offset=current - target,
        G=G,
        h=h,
        f=w0 - wstar,
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
