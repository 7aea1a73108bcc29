"""The QP solved by OSQP directly, built sparse for each account.

The constraint matrix is assembled directly in compressed columns from the sparse blocks of
:class:`~.qp.QPData` (one entry per lot in ``M``, one per security in ``C``, the nonzero factor
loadings), each variable's column in row order, with numpy alone (scipy's checks cost more than the
solve on small accounts); rows that bind nothing (no turnover cap, no tax budget, no trade cap) are
left out. Each account gets its own OSQP workspace solved from zero, so results never depend on a
previous account. Tolerances (1e-5 of the account value, with polishing) keep the objective within a
few dollars of the Clarabel reference.
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


def _constraints(qp: QPData, n: int) -> tuple[Csc, FloatArray, FloatArray]:
    """The constraint matrix, built column by column (each variable's entries in row order), and its
    bounds. Rows, in order: ``d - b + M s = 0`` (N); ``e - C d - cash flow = 0`` (K, cash flow
    ``(1 - r) sum s - (1 + r) sum b``); ``g - G d = 0`` (R); bounds on ``b`` (N) and ``s`` (L);
    ``|d| <= max trade`` (N, only with a cap); cash after trading at or above the reserve (1); the
    turnover cap, the net gain and the tax budget (one row each, only when given)."""
    N, L, K, R = qp.n_sec, qp.n_lots, len(CLASSES), qp.G.shape[0]
    rate = qp.cost_rate
    cash = CLASSES.index("cash")
    capped = bool(np.isfinite(qp.d_cap).any())
    optional = [np.isfinite(qp.turnover_hi), np.isfinite(qp.gain_hi), np.isfinite(qp.tax_hi)]
    r_cls, r_fac = N, N + K
    r_b = r_fac + R
    r_s = r_b + N
    r_cash = r_s + L + (N if capped else 0)
    r_turn = r_cash + 1
    r_gain = r_turn + int(optional[0])
    r_tax = r_gain + int(optional[1])
    m = r_tax + int(optional[2])
    sec = np.arange(N)
    lot = np.arange(L)
    # b: balance (-1), cash flow (1 + r), its bound (1), cash (-(1 + r)), turnover (1)
    b_rows = [sec, np.full(N, r_cls + cash), r_b + sec, np.full(N, r_cash)]
    b_vals = [np.full(N, -1.0), np.full(N, 1.0 + rate), np.ones(N), np.full(N, -(1.0 + rate))]
    # s: balance (1), cash flow (-(1 - r)), its bound (1), cash (1 - r), turnover (1), gain, tax
    s_rows = [qp.lot_sec, np.full(L, r_cls + cash), r_s + lot, np.full(L, r_cash)]
    s_vals = [np.ones(L), np.full(L, -(1.0 - rate)), np.ones(L), np.full(L, 1.0 - rate)]
    if optional[0]:
        b_rows.append(np.full(N, r_turn))
        b_vals.append(np.ones(N))
        s_rows.append(np.full(L, r_turn))
        s_vals.append(np.ones(L))
    for on, row, coef in ((optional[1], r_gain, qp.gain), (optional[2], r_tax, qp.tax)):
        if on:
            s_rows.append(np.full(L, row))
            s_vals.append(np.asarray(coef, dtype=float))
    # d: balance (1), class (-1), factors (-G, nonzero entries only), its cap (1)
    g_col, g_row = np.nonzero(qp.G.T)  # by column, then row
    d_cols = [sec, sec, g_col]
    d_rows = [sec, r_cls + qp.sec_class, r_fac + g_row]
    d_vals = [np.ones(N), np.full(N, -1.0), -qp.G.T[g_col, g_row]]
    if capped:
        d_cols.append(sec)
        d_rows.append(r_s + L + sec)
        d_vals.append(np.ones(N))
    order = np.argsort(np.concatenate(d_cols), kind="stable")  # each column's entries stay in row order
    counts = np.concatenate(
        [
            np.full(N, len(b_rows)),
            np.full(L, len(s_rows)),
            len(d_cols) - 1 + np.bincount(g_col, minlength=N),
            np.ones(K + R, dtype=np.int64),
        ]
    )
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    indices = np.concatenate(
        [
            np.stack(b_rows, axis=1).ravel(),
            np.stack(s_rows, axis=1).ravel(),
            np.concatenate(d_rows)[order],
            r_cls + np.arange(K),
            r_fac + np.arange(R),
        ]
    ).astype(np.int32)
    data = np.concatenate(
        [
            np.stack(b_vals, axis=1).ravel(),
            np.stack(s_vals, axis=1).ravel(),
            np.concatenate(d_vals)[order],
            np.ones(K + R),
        ]
    )
    cap = np.minimum(qp.d_cap, 1e20)
    lo = [np.zeros(N + K + R + N + L)]
    hi = [np.zeros(N + K + R), np.minimum(qp.ub_b, 1e20), np.asarray(qp.ub_s, dtype=float)]
    if capped:
        lo.append(-cap)
        hi.append(cap)
    lo.append(np.array([qp.cash_lo]))
    hi.append(np.array([1e20]))
    for on, limit in zip(optional, (qp.turnover_hi, qp.gain_hi, qp.tax_hi), strict=True):
        if on:
            lo.append(np.array([-1e20]))
            hi.append(np.array([limit]))
    return Csc((m, n), indptr, indices, data), np.concatenate(lo), np.concatenate(hi)


def _problem(qp: QPData) -> tuple[Csc, FloatArray, Csc, FloatArray, FloatArray]:
    N, L, K, R = qp.n_sec, qp.n_lots, len(CLASSES), qp.G.shape[0]
    n = 2 * N + L + K + R
    rate = qp.cost_rate
    A, lo, hi = _constraints(qp, n)
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
