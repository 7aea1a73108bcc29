"""The QP solved by OSQP directly: matrices laid out once per padded shape, then updated in place.

One :class:`_Compiled` per shape ``(N, L)`` holds an OSQP workspace whose sparsity pattern is fixed
(dense blocks keep explicit zeros), so a new account only updates ``q``, ``l``, ``u`` and the values
of ``A``. Each solve starts from zero with the same ``rho`` so results never depend on the previous
account. Tolerances (1e-5 of the account value, with polishing) were tuned on the benchmark set:
the objective is within a few dollars of the Clarabel reference. Not thread-safe: one cache per
process (services scale with processes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import osqp
import scipy.sparse as sp

from .qp import CLASSES, QPData

__all__ = ["OsqpSolveError", "cache_size", "solve_osqp"]

_RHO = 0.01
_SETTINGS = {
    "verbose": False,
    "eps_abs": 1e-5,
    "eps_rel": 1e-5,
    "max_iter": 20000,
    "polishing": True,
    "adaptive_rho_interval": 25,
    "rho": _RHO,
    "warm_starting": True,
}

FloatArray = npt.NDArray[np.float64]


class OsqpSolveError(RuntimeError):
    """OSQP did not reach an optimal solution."""


@dataclass(slots=True)
class _Layout:
    N: int
    L: int
    K: int

    @property
    def n(self) -> int:
        return 3 * self.N + self.L + self.K

    # variable offsets
    @property
    def ob(self) -> int:
        return 0

    @property
    def os(self) -> int:
        return self.N

    @property
    def od(self) -> int:
        return self.N + self.L

    @property
    def oe(self) -> int:
        return 2 * self.N + self.L

    @property
    def og(self) -> int:
        return 2 * self.N + self.L + self.K


def _dense_A(lay: _Layout, qp: QPData | None) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """The constraint matrix (dense) and its fixed sparsity mask."""
    N, L, K, n = lay.N, lay.L, lay.K, lay.n
    rows = N + K + N + (N + L + N) + 4
    A = np.zeros((rows, n))
    mask = np.zeros((rows, n), dtype=bool)
    r = 0
    ob, os_, od, oe, og = lay.ob, lay.os, lay.od, lay.oe, lay.og
    cash = CLASSES.index("cash")
    rate = qp.cost_rate if qp else 0.0
    # d - b + M s = 0
    mask[r : r + N, od : od + N] |= np.eye(N, dtype=bool)
    mask[r : r + N, ob : ob + N] |= np.eye(N, dtype=bool)
    mask[r : r + N, os_ : os_ + L] = True
    A[r : r + N, od : od + N] = np.eye(N)
    A[r : r + N, ob : ob + N] = -np.eye(N)
    if qp:
        A[r : r + N, os_ : os_ + L] = qp.M
    r += N
    # e - C d - cash flow = 0
    mask[r : r + K, oe : oe + K] |= np.eye(K, dtype=bool)
    mask[r : r + K, od : od + N] = True
    mask[r + cash, ob : ob + N] = True
    mask[r + cash, os_ : os_ + L] = True
    A[r : r + K, oe : oe + K] = np.eye(K)
    if qp:
        A[r : r + K, od : od + N] = -qp.C
        A[r + cash, ob : ob + N] = 1.0 + rate
        A[r + cash, os_ : os_ + L] = -(1.0 - rate)
    r += K
    # g - F d = 0
    mask[r : r + N, og : og + N] |= np.eye(N, dtype=bool)
    mask[r : r + N, od : od + N] |= np.triu(np.ones((N, N), dtype=bool))
    A[r : r + N, og : og + N] = np.eye(N)
    if qp:
        A[r : r + N, od : od + N] -= qp.F
    r += N
    # bounds on b, s, d
    for off, size in ((ob, N), (os_, L), (od, N)):
        mask[r : r + size, off : off + size] |= np.eye(size, dtype=bool)
        A[r : r + size, off : off + size] = np.eye(size)
        r += size
    # cash, turnover, gain, tax
    mask[r : r + 4, ob : ob + N + L] = True
    A[r, ob : ob + N] = -(1.0 + rate)
    A[r, os_ : os_ + L] = 1.0 - rate
    A[r + 1, ob : ob + N + L] = 1.0
    if qp:
        A[r + 2, os_ : os_ + L] = qp.gain
        A[r + 3, os_ : os_ + L] = qp.tax
    return A, mask


def _bounds(lay: _Layout, qp: QPData) -> tuple[FloatArray, FloatArray]:
    N, L, K = lay.N, lay.L, lay.K
    lo = np.concatenate(
        [
            np.zeros(N + K + N),
            np.zeros(N),
            np.zeros(L),
            -qp.d_cap,
            [qp.cash_lo, -np.inf, -np.inf, -np.inf],
        ]
    )
    hi = np.concatenate(
        [
            np.zeros(N + K + N),
            qp.ub_b,
            qp.ub_s,
            qp.d_cap,
            [np.inf, qp.turnover_hi, qp.gain_hi, qp.tax_hi],
        ]
    )
    return lo, np.minimum(hi, 1e20)


def _objective(lay: _Layout, qp: QPData) -> tuple[FloatArray, FloatArray]:
    N, L, K = lay.N, lay.L, lay.K
    pdiag = np.concatenate([np.full(N + L, 1e-6), np.full(N, 1e-9), np.full(K, 2 * qp.alpha), np.full(N, 2 * qp.beta)])
    q = np.concatenate(
        [
            np.full(N, qp.cost_rate),
            qp.tax + qp.cost_rate,
            np.zeros(N),
            2 * qp.alpha * qp.c_offset,
            2 * qp.beta * qp.f_offset,
        ]
    )
    return pdiag, q


class _Compiled:
    def __init__(self, qp: QPData) -> None:
        self.lay = _Layout(qp.n_sec, qp.n_lots, len(CLASSES))
        _, mask = _dense_A(self.lay, None)
        self.mask_t = mask.T  # CSC order: column-major gather
        self.mask_csc = sp.csc_matrix(mask.astype(float))
        self.mask_csc.sort_indices()
        A_dense, _ = _dense_A(self.lay, qp)
        A = self._csc(A_dense)
        pdiag, q = _objective(self.lay, qp)
        self.pdiag = pdiag
        P = sp.diags(pdiag, format="csc")
        lo, hi = _bounds(self.lay, qp)
        self.solver = osqp.OSQP()
        self.solver.setup(P, q, A, lo, hi, **_SETTINGS)
        self.fresh = True

    def _csc(self, dense: FloatArray) -> sp.csc_matrix:
        """``dense`` in the fixed pattern (explicit zeros kept)."""
        data = dense.T[self.mask_t]
        return sp.csc_matrix((data, self.mask_csc.indices, self.mask_csc.indptr), shape=dense.shape)

    def solve(self, qp: QPData) -> FloatArray:
        if not self.fresh:
            A_dense, _ = _dense_A(self.lay, qp)
            pdiag, q = _objective(self.lay, qp)
            lo, hi = _bounds(self.lay, qp)
            update: dict[str, object] = {"q": q, "l": lo, "u": hi, "Ax": A_dense.T[self.mask_t]}
            if not np.array_equal(pdiag, self.pdiag):
                update["Px"] = pdiag
                self.pdiag = pdiag
            self.solver.update(**update)
            self.solver.update_settings(rho=_RHO)
        self.fresh = False
        self.solver.warm_start(x=np.zeros(self.lay.n), y=np.zeros(self.mask_csc.shape[0]))
        result = self.solver.solve(raise_error=False)
        status = str(result.info.status)
        if "solved" not in status.lower() or "inaccurate" in status.lower():
            raise OsqpSolveError(f"OSQP status: {status}")
        return np.asarray(result.x, dtype=float)


_CACHE: dict[tuple[int, int], _Compiled] = {}


def cache_size() -> int:
    """Number of compiled shapes (for tests and benchmarks)."""
    return len(_CACHE)


def solve_osqp(qp: QPData) -> tuple[FloatArray, FloatArray]:
    """Buys per security slot and sells per lot slot, as fractions of the account value."""
    key = (qp.n_sec, qp.n_lots)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = _CACHE[key] = _Compiled(qp)
    x = compiled.solve(qp)
    lay = compiled.lay
    return x[lay.ob : lay.ob + lay.N], x[lay.os : lay.os + lay.L]
