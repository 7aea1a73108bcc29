"""The reference formulation in cvxpy (OSQP or Clarabel underneath), built for each account from the
same sparse data as the direct OSQP route; tests check both agree."""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt

from .qp import CLASSES, QPData

__all__ = ["solve_cvxpy"]

FloatArray = npt.NDArray[np.float64]
_BIG = 1e6


def solve_cvxpy(qp: QPData, *, solver: str = "CLARABEL") -> tuple[FloatArray, FloatArray, float]:
    """Buys per security, sells per lot (fractions of the account) and the objective."""
    N, L, K = qp.n_sec, qp.n_lots, len(CLASSES)
    b = cp.Variable(N, name="buys")
    s = cp.Variable(L, name="sells")
    unit = np.zeros(K)
    unit[CLASSES.index("cash")] = 1.0
    d = b - qp.M @ s
    flow = cp.sum(s) - cp.sum(b) - qp.cost_rate * (cp.sum(s) + cp.sum(b))
    e = qp.C @ d + unit * flow
    tracking = cp.sum_squares(qp.G @ d + qp.G @ qp.f) + cp.sum(cp.multiply(qp.h, cp.square(d + qp.f)))
    objective = (
        qp.alpha * cp.sum_squares(e + qp.c_offset)
        + qp.beta * tracking
        + qp.tax @ s
        + qp.cost_rate * (cp.sum(b) + cp.sum(s))
        + 5e-7 * (cp.sum_squares(b) + cp.sum_squares(s))
    )
    constraints = [
        b >= 0,
        b <= np.minimum(qp.ub_b, _BIG),
        s >= 0,
        s <= qp.ub_s,
        cp.abs(d) <= np.minimum(qp.d_cap, _BIG),
        flow >= qp.cash_lo,
        cp.sum(b) + cp.sum(s) <= min(qp.turnover_hi, _BIG),
        qp.gain @ s <= min(qp.gain_hi, _BIG),
        qp.tax @ s <= min(qp.tax_hi, _BIG),
    ]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    kwargs: dict[str, Any] = {"eps_abs": 1e-5, "eps_rel": 1e-5, "max_iter": 20000} if solver == "OSQP" else {}
    problem.solve(solver=solver, **kwargs)
    if problem.status not in (cp.OPTIMAL,):
        raise RuntimeError(f"cvxpy/{solver} status: {problem.status}")
    assert b.value is not None and s.value is not None
    return np.asarray(b.value), np.asarray(s.value), float(problem.value)
