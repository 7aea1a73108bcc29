"""The QP solved by OSQP directly, built sparse for each account.

The constraint matrix is assembled in coordinate form from the sparse blocks of :class:`~.qp.QPData`
(one entry per lot in ``M``, one per security in ``C``, ``R x N`` factor loadings) and rows that
bind nothing (no turnover cap, no tax budget, no trade cap) are left out. Each account gets its own
OSQP workspace solved from zero, so results never depend on a previous account. Tolerances (1e-5 of
the account value, with polishing) keep the objective within a few dollars of the Clarabel reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import osqp

from shared.errors import SolverError

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


# the builtin algebra's extension (named: finding the default tries to import cuda and mkl each time)
_EXT = osqp.OSQP(algebra="builtin").ext
_INFTY = float(_EXT.OSQP_INFTY)


def _settings() -> object:
    settings = _EXT.OSQPSettings()
    _EXT.osqp_set_default_settings(settings)
    for key, value in _SETTINGS.items():
        setattr(settings, key, value)
    return settings


_SETTINGS_OBJECT = _settings()
"""One settings object for every solve: OSQP copies it into each workspace at setup, never writes it."""


class OsqpSolveError(SolverError, RuntimeError):
    """OSQP did not reach an optimal solution."""


@dataclass(frozen=True, slots=True)
class Csc:
    """A sparse matrix in compressed columns, with the attributes OSQP's extension reads."""

    shape: tuple[int, int]
    indptr: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int32]
    data: FloatArray

    @property
    def nnz(self) -> int:
        return len(self.data)

    @classmethod
    def build(cls, m: int, n: int, cols: IntArray, rows: IntArray, vals: FloatArray) -> Csc:
        """From entries sorted by column, then row."""
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=n), out=indptr[1:])
        return cls((m, n), indptr, rows.astype(np.int32), np.ascontiguousarray(vals, dtype=np.float64))


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

    def matrix(self) -> tuple[Csc, FloatArray, FloatArray]:
        """The constraint matrix in compressed columns (no entry repeats a (row, column) pair), its
        bounds. Built with numpy alone: scipy's checks cost more than the solve on small accounts."""
        rows = np.concatenate(self.rows)
        cols = np.concatenate(self.cols)
        vals = np.concatenate(self.vals)
        order = np.lexsort((rows, cols))
        return (
            Csc.build(self.m, self.n, cols[order], rows[order], vals[order]),
            np.concatenate(self.lo),
            np.concatenate(self.hi),
        )


def _problem(qp: QPData) -> tuple[Csc, FloatArray, Csc, FloatArray, FloatArray]:
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
    P = Csc((n, n), np.arange(n + 1, dtype=np.int32), np.arange(n, dtype=np.int32), pdiag)  # diagonal
    return P, q, A, lo, hi


def solve_osqp(qp: QPData) -> tuple[FloatArray, FloatArray]:
    """Buys per security and sells per lot, as fractions of the account value.

    Calls OSQP's extension directly (pinned osqp 1.1.3, the builtin algebra): the Python wrapper's
    checks (a lower triangle of P, format conversions, copies) cost as much as the solve here. The
    problem handed over is the same: P diagonal (upper triangular), A in sorted compressed columns,
    bounds clipped to OSQP's infinity."""
    P, q, A, lo, hi = _problem(qp)
    ext = _EXT
    solver = ext.OSQPSolver(
        ext.CSC(P),
        q,
        ext.CSC(A),
        np.maximum(lo, -_INFTY),
        np.minimum(hi, _INFTY),
        A.shape[0],
        A.shape[1],
        _SETTINGS_OBJECT,
    )
    solver.solve()
    status = str(solver.info.status)
    if "solved" not in status.lower() or "inaccurate" in status.lower():
        raise OsqpSolveError(f"OSQP status: {status}")
    x = np.array(solver.solution.x, dtype=float)
    N, L = qp.n_sec, qp.n_lots
    return x[:N], x[N : N + L]
