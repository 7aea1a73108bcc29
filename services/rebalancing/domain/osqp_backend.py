"""The QP solved by OSQP directly, built sparse for each account.

The constraint matrix is assembled in coordinate form from the sparse blocks of :class:`~.qp.QPData`
(one entry per lot in ``M``, one per security in ``C``, ``R x N`` factor loadings) and rows that
bind nothing (no turnover cap, no tax budget, no trade cap) are left out. Each account gets its own
OSQP workspace solved from zero, so results never depend on a previous account. Tolerances (1e-5 of
the account value, with polishing) keep the objective within a few dollars of the Clarabel reference.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import osqp
import scipy.sparse as sp

from .qp import CLASSES, QPData

__all__ = ["OsqpSolveError", "solve_osqp"]

_SETTINGS = {
    "verbose": False,
    "eps_abs": 1e-5,
    "eps_rel": 1e-5,
    "max_iter": 20000,
    "polishing": True,
    "adaptive_rho_interval": 25,
    "rho": 0.01,
}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int_]


class OsqpSolveError(RuntimeError):
    """OSQP did not reach an optimal solution."""


class _Rows:
    """Coordinate entries and bounds of the constraint matrix, one block at a time."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.m = 0
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[FloatArray] = []
        self.lo: list[FloatArray] = []
        self.hi: list[FloatArray] = []

    def add(self, rows: npt.ArrayLike, cols: npt.ArrayLike, vals: npt.ArrayLike) -> None:
        """Entries at block-relative ``rows`` of the block being built (see :meth:`close`)."""
        self.rows.append(np.asarray(rows, dtype=np.int64) + self.m)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))

    def close(self, lo: FloatArray, hi: FloatArray) -> None:
        """Finish a block of ``len(lo)`` rows."""
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.m += len(self.lo[-1])

    def matrix(self) -> tuple[sp.csc_matrix, FloatArray, FloatArray]:
        A = sp.csc_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.m, self.n),
        )
        return A, np.concatenate(self.lo), np.concatenate(self.hi)


def _problem(qp: QPData) -> tuple[sp.csc_matrix, FloatArray, sp.csc_matrix, FloatArray, FloatArray]:
    N, L, K, R = qp.n_sec, qp.n_lots, len(CLASSES), qp.G.shape[0]
    ob, os_, od, oe, og = 0, N, N + L, 2 * N + L, 2 * N + L + K
    n = og + R
    rate = qp.cost_rate
    cash = CLASSES.index("cash")
    rows = _Rows(n)
    sec = np.arange(N)
    lot = np.arange(L)
    lot_sec = qp.lot_sec
    # d - b + M s = 0
    rows.add(sec, od + sec, np.ones(N))
    rows.add(sec, ob + sec, -np.ones(N))
    rows.add(lot_sec, os_ + lot, np.ones(L))
    rows.close(np.zeros(N), np.zeros(N))
    # e - C d - cash flow = 0, cash flow = (1 - r) sum s - (1 + r) sum b
    rows.add(np.arange(K), oe + np.arange(K), np.ones(K))
    rows.add(qp.sec_class, od + sec, -np.ones(N))
    rows.add(np.full(N, cash), ob + sec, np.full(N, 1.0 + rate))
    rows.add(np.full(L, cash), os_ + lot, np.full(L, -(1.0 - rate)))
    rows.close(np.zeros(K), np.zeros(K))
    # g - G d = 0
    if R:
        rr, cc = np.nonzero(qp.G)
        rows.add(np.arange(R), og + np.arange(R), np.ones(R))
        rows.add(rr, od + cc, -qp.G[rr, cc])
        rows.close(np.zeros(R), np.zeros(R))
    # bounds on b and s
    rows.add(sec, ob + sec, np.ones(N))
    rows.close(np.zeros(N), np.minimum(qp.ub_b, 1e20))
    rows.add(lot, os_ + lot, np.ones(L))
    rows.close(np.zeros(L), qp.ub_s)
    if np.isfinite(qp.d_cap).any():
        rows.add(sec, od + sec, np.ones(N))
        rows.close(-np.minimum(qp.d_cap, 1e20), np.minimum(qp.d_cap, 1e20))
    # cash after trading at or above the reserve (plus any withdrawal)
    rows.add(np.zeros(N), ob + sec, np.full(N, -(1.0 + rate)))
    rows.add(np.zeros(L), os_ + lot, np.full(L, 1.0 - rate))
    rows.close(np.array([qp.cash_lo]), np.array([1e20]))
    if np.isfinite(qp.turnover_hi):
        rows.add(np.zeros(N + L), np.arange(N + L), np.ones(N + L))
        rows.close(np.array([-1e20]), np.array([qp.turnover_hi]))
    for coef, limit in ((qp.gain, qp.gain_hi), (qp.tax, qp.tax_hi)):
        if np.isfinite(limit):
            rows.add(np.zeros(L), os_ + lot, coef)
            rows.close(np.array([-1e20]), np.array([limit]))
    A, lo, hi = rows.matrix()
    pdiag = np.concatenate(
        [np.full(N + L, 1e-6), 2 * qp.beta * qp.h + 1e-9, np.full(K, 2 * qp.alpha), np.full(R, 2 * qp.beta)]
    )
    q = np.concatenate(
        [
            np.full(N, rate),
            qp.tax + rate,
            2 * qp.beta * qp.h * qp.f,
            2 * qp.alpha * qp.c_offset,
            2 * qp.beta * (qp.G @ qp.f),
        ]
    )
    P = sp.csc_matrix((pdiag, np.arange(n), np.arange(n + 1)), shape=(n, n))
    return P, q, A, lo, hi


def solve_osqp(qp: QPData) -> tuple[FloatArray, FloatArray]:
    """Buys per security and sells per lot, as fractions of the account value."""
    P, q, A, lo, hi = _problem(qp)
    solver = osqp.OSQP(algebra="builtin")  # named: finding the default tries to import cuda and mkl each time
    solver.setup(P, q, A, lo, hi, **_SETTINGS)
    result = solver.solve(raise_error=False)
    status = str(result.info.status)
    if "solved" not in status.lower() or "inaccurate" in status.lower():
        raise OsqpSolveError(f"OSQP status: {status}")
    x = np.asarray(result.x, dtype=float)
    N, L = qp.n_sec, qp.n_lots
    return x[:N], x[N : N + L]
