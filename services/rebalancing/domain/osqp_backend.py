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

import math
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
    turnover cap, the net gain and the tax budget (one row each, only when given).

    Columns ``b`` and ``s`` have the same number of entries each, so their blocks are written as
    (variables x entries) views of the output arrays, one slice assignment per entry; ``d`` has its
    factor loadings' nonzeros, picked by a mask. Few numpy calls: on small accounts their overhead,
    not the arithmetic, is the cost."""
    N, L, K, R = qp.n_sec, qp.n_lots, len(CLASSES), qp.G.shape[0]
    rate = qp.cost_rate
    cash = CLASSES.index("cash")
    capped = bool(np.isfinite(qp.d_cap).any())
    turn, on_gain, on_tax = (int(math.isfinite(v)) for v in (qp.turnover_hi, qp.gain_hi, qp.tax_hi))
    r_cls, r_fac = N, N + K
    r_b = r_fac + R
    r_s = r_b + N
    r_cap = r_s + L
    r_cash = r_cap + (N if capped else 0)
    r_turn = r_cash + 1
    r_gain = r_turn + turn
    r_tax = r_gain + on_gain
    m = r_tax + on_tax
    # entries per column: b balance, cash flow, bound, cash (, turnover); s the same (, gain, tax);
    # d balance, class, its nonzero loadings (, cap); e and g one each
    nb = 4 + turn
    ns = nb + on_gain + on_tax
    gt = qp.G.T  # N x R
    loaded = gt != 0
    nd = 2 + R + int(capped)  # entries of a d column before dropping zero loadings
    d_mask = np.ones((N, nd), dtype=bool)
    d_mask[:, 2 : 2 + R] = loaded
    per_d = d_mask.sum(axis=1)
    end_b = N * nb
    end_s = end_b + L * ns
    end_d = end_s + int(per_d.sum())
    nnz = end_d + K + R
    indptr = np.empty(n + 1, dtype=np.int32)
    indptr[: N + 1] = np.arange(0, end_b + 1, nb)
    indptr[N + 1 : N + L + 1] = np.arange(end_b + ns, end_s + 1, ns)
    np.cumsum(per_d, out=indptr[N + L + 1 : 2 * N + L + 1])
    indptr[N + L + 1 : 2 * N + L + 1] += end_s
    indptr[2 * N + L + 1 :] = np.arange(end_d + 1, nnz + 1)
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz)
    sec = np.arange(N)
    # b
    ib = indices[:end_b].reshape(N, nb)
    vb = data[:end_b].reshape(N, nb)
    ib[:, 0] = sec
    ib[:, 1] = r_cls + cash
    ib[:, 2] = sec
    ib[:, 2] += r_b
    ib[:, 3] = r_cash
    vb[:, :4] = (-1.0, 1.0 + rate, 1.0, -(1.0 + rate))
    if turn:
        ib[:, 4] = r_turn
        vb[:, 4] = 1.0
    # s
    i_s = indices[end_b:end_s].reshape(L, ns)
    v_s = data[end_b:end_s].reshape(L, ns)
    i_s[:, 0] = qp.lot_sec
    i_s[:, 1] = r_cls + cash
    i_s[:, 2] = np.arange(r_s, r_s + L)
    i_s[:, 3] = r_cash
    v_s[:, :4] = (1.0, -(1.0 - rate), 1.0, 1.0 - rate)
    k = 4
    if turn:
        i_s[:, k] = r_turn
        v_s[:, k] = 1.0
        k += 1
    if on_gain:
        i_s[:, k] = r_gain
        v_s[:, k] = qp.gain
        k += 1
    if on_tax:
        i_s[:, k] = r_tax
        v_s[:, k] = qp.tax
    # d: every entry of each column in row order, then the zero loadings dropped
    i_d = np.empty((N, nd), dtype=np.int32)
    v_d = np.empty((N, nd))
    i_d[:, 0] = sec
    i_d[:, 1] = qp.sec_class
    i_d[:, 1] += r_cls
    i_d[:, 2 : 2 + R] = np.arange(r_fac, r_fac + R)
    v_d[:, :2] = (1.0, -1.0)
    np.negative(gt, out=v_d[:, 2 : 2 + R])
    if capped:
        i_d[:, -1] = sec
        i_d[:, -1] += r_cap
        v_d[:, -1] = 1.0
    indices[end_s:end_d] = i_d[d_mask]
    data[end_s:end_d] = v_d[d_mask]
    # e and g
    indices[end_d:] = np.arange(r_cls, r_cls + K + R)
    data[end_d:] = 1.0
    lo = np.zeros(m)
    hi = np.empty(m)
    hi[:r_b] = 0.0
    np.minimum(qp.ub_b, 1e20, out=hi[r_b:r_s])
    hi[r_s:r_cap] = qp.ub_s
    if capped:
        cap = np.minimum(qp.d_cap, 1e20)
        np.negative(cap, out=lo[r_cap:r_cash])
        hi[r_cap:r_cash] = cap
    lo[r_cash] = qp.cash_lo
    hi[r_cash] = 1e20
    for on, row, limit in ((turn, r_turn, qp.turnover_hi), (on_gain, r_gain, qp.gain_hi), (on_tax, r_tax, qp.tax_hi)):
        if on:
            lo[row] = -1e20
            hi[row] = limit
    return Csc((m, n), indptr, indices, data), lo, hi


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
