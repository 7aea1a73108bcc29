"""The reference formulation in cvxpy: a DPP problem compiled once per padded shape, re-solved with
new parameter values for every account (OSQP or Clarabel underneath). The aversions are
constants of the compiled problem (part of the cache key): a parameter times a quadratic is not DPP."""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt

from .qp import CLASSES, QPData

__all__ = ["solve_cvxpy"]

FloatArray = npt.NDArray[np.float64]


class _Problem:
    def __init__(self, N: int, L: int, alpha: float, beta: float) -> None:
        K = len(CLASSES)
        cash = CLASSES.index("cash")
        self.b = cp.Variable(N, name="buys")
        self.s = cp.Variable(L, name="sells")
        self.d = cp.Variable(N, name="change")
        p: dict[str, Any] = {
            "M": cp.Parameter((N, L), name="M"),
            "C": cp.Parameter((K, N), name="C"),
            "F": cp.Parameter((N, N), name="F"),
            "c_offset": cp.Parameter(K, name="c_offset"),
            "f_offset": cp.Parameter(N, name="f_offset"),
            "tax": cp.Parameter(L, name="tax"),
            "gain": cp.Parameter(L, name="gain"),
            "ub_b": cp.Parameter(N, nonneg=True, name="ub_b"),
            "ub_s": cp.Parameter(L, nonneg=True, name="ub_s"),
            "d_cap": cp.Parameter(N, nonneg=True, name="d_cap"),
            "cash_lo": cp.Parameter(name="cash_lo"),
            "turnover_hi": cp.Parameter(nonneg=True, name="turnover_hi"),
            "gain_hi": cp.Parameter(name="gain_hi"),
            "tax_hi": cp.Parameter(name="tax_hi"),
            "rate": cp.Parameter(nonneg=True, name="rate"),
        }
        self.p = p
        b, s, d = self.b, self.s, self.d
        unit = np.zeros(K)
        unit[cash] = 1.0
        flow = cp.sum(s) - cp.sum(b) - p["rate"] * (cp.sum(s) + cp.sum(b))
        e = p["C"] @ d + unit * flow
        objective = (
            alpha * cp.sum_squares(e + p["c_offset"])
            + beta * cp.sum_squares(p["F"] @ d + p["f_offset"])
            + p["tax"] @ s
            + p["rate"] * (cp.sum(b) + cp.sum(s))
            + 5e-7 * (cp.sum_squares(b) + cp.sum_squares(s))
        )
        constraints = [
            d == b - p["M"] @ s,
            b >= 0,
            b <= p["ub_b"],
            s >= 0,
            s <= p["ub_s"],
            d <= p["d_cap"],
            d >= -p["d_cap"],
            flow >= p["cash_lo"],
            cp.sum(b) + cp.sum(s) <= p["turnover_hi"],
            p["gain"] @ s <= p["gain_hi"],
            p["tax"] @ s <= p["tax_hi"],
        ]
        self.problem = cp.Problem(cp.Minimize(objective), constraints)
        if not self.problem.is_dpp():  # pragma: no cover - a formulation error
            raise RuntimeError("the rebalance problem is not DPP")

    def solve(self, qp: QPData, solver: str) -> tuple[FloatArray, FloatArray, float]:
        big = 1e6
        values: dict[str, Any] = {
            "M": qp.M,
            "C": qp.C,
            "F": qp.F,
            "c_offset": qp.c_offset,
            "f_offset": qp.f_offset,
            "tax": qp.tax,
            "gain": qp.gain,
            "ub_b": np.minimum(qp.ub_b, big),
            "ub_s": qp.ub_s,
            "d_cap": np.minimum(qp.d_cap, big),
            "cash_lo": qp.cash_lo,
            "turnover_hi": min(qp.turnover_hi, big),
            "gain_hi": min(qp.gain_hi, big),
            "tax_hi": min(qp.tax_hi, big),
            "rate": qp.cost_rate,
        }
        for name, value in values.items():
            self.p[name].value = value
        kwargs: dict[str, Any] = {"eps_abs": 1e-5, "eps_rel": 1e-5, "max_iter": 20000} if solver == "OSQP" else {}
        self.problem.solve(solver=solver, **kwargs)
        if self.problem.status not in (cp.OPTIMAL,):
            raise RuntimeError(f"cvxpy/{solver} status: {self.problem.status}")
        assert self.b.value is not None and self.s.value is not None
        return np.asarray(self.b.value), np.asarray(self.s.value), float(self.problem.value)


_CACHE: dict[tuple[int, int, float, float], _Problem] = {}


def solve_cvxpy(qp: QPData, *, solver: str = "CLARABEL") -> tuple[FloatArray, FloatArray, float]:
    """Buys per security slot, sells per lot slot (fractions of the account) and the objective."""
    key = (qp.n_sec, qp.n_lots, qp.alpha, qp.beta)
    problem = _CACHE.get(key)
    if problem is None:
        problem = _CACHE[key] = _Problem(qp.n_sec, qp.n_lots, qp.alpha, qp.beta)
    return problem.solve(qp, solver)
