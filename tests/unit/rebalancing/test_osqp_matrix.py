"""The OSQP constraint system, built slice by slice, equals the documented blocks assembled with scipy.

Rows: d - b + M s = 0; e - C d - cash flow = 0; g - G d = 0; bounds on b and s; |d| <= cap (with a
cap); cash >= reserve; turnover, net gain and tax budget rows when given. Columns: b, s, d, e, g."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
import scipy.sparse as sp

from services.rebalancing.domain import PlanOptions, TaxBudget
from services.rebalancing.domain.book import build_book
from services.rebalancing.domain.model import Covariance
from services.rebalancing.domain.optimizer import prepare_qp
from services.rebalancing.domain.osqp_backend import _constraints
from services.rebalancing.domain.qp import CLASSES, QPData
from shared.securities import default_securities

from .helpers import AS_OF, PRICES, TAX, account, equity_heavy, lot


def _reference(qp: QPData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    N, L, K, R = qp.n_sec, qp.n_lots, len(CLASSES), qp.G.shape[0]
    r = qp.cost_rate
    cash = np.zeros((K, 1))
    cash[CLASSES.index("cash")] = 1.0
    eye_n, eye_l = sp.identity(N), sp.identity(L)
    z = None
    blocks = [
        [-eye_n, qp.M, eye_n, z, z],
        [
            sp.csr_matrix(cash * (1 + r) * np.ones((1, N))),
            sp.csr_matrix(-cash * (1 - r) * np.ones((1, L))),
            -qp.C,
            sp.identity(K),
            z,
        ],
        [z, z, sp.csr_matrix(-qp.G), z, sp.identity(R)],
        [eye_n, z, z, z, z],
        [z, eye_l, z, z, z],
    ]
    lo = [np.zeros(N + K + R + N + L)]
    hi = [np.zeros(N + K + R), np.minimum(qp.ub_b, 1e20), qp.ub_s]
    if np.isfinite(qp.d_cap).any():
        blocks.append([z, z, eye_n, z, z])
        lo.append(-np.minimum(qp.d_cap, 1e20))
        hi.append(np.minimum(qp.d_cap, 1e20))
    ones_n, ones_l = np.ones((1, N)), np.ones((1, L))
    blocks.append([sp.csr_matrix(-(1 + r) * ones_n), sp.csr_matrix((1 - r) * ones_l), z, z, z])
    lo.append(np.array([qp.cash_lo]))
    hi.append(np.array([1e20]))
    for limit, b_row, s_row in (
        (qp.turnover_hi, ones_n, ones_l),
        (qp.gain_hi, np.zeros((1, N)), qp.gain[None, :]),
        (qp.tax_hi, np.zeros((1, N)), qp.tax[None, :]),
    ):
        if np.isfinite(limit):
            blocks.append([sp.csr_matrix(b_row), sp.csr_matrix(s_row), z, z, z])
            lo.append(np.array([-1e20]))
            hi.append(np.array([limit]))
    # column widths fixed by an all-zero first row of the right shapes
    widths = [N, L, N, K, R]
    sizer = [sp.csr_matrix((1, w)) for w in widths]
    A = sp.bmat([sizer, *blocks], format="csc")[1:]
    return A.toarray(), np.concatenate(lo), np.concatenate(hi)


def _case(name: str) -> tuple[QPData, Covariance | None]:
    book_account = equity_heavy()
    options = PlanOptions()
    covariance = None
    if name == "capped":
        options = PlanOptions(max_trade_amount=Decimal(2000))
    elif name == "budgets":
        options = PlanOptions(
            turnover_cap=Decimal(20), tax_budget=TaxBudget(max_net_gain=Decimal(500), max_tax=Decimal(100))
        )
    elif name == "everything":
        options = PlanOptions(
            max_trade_amount=Decimal(2000), turnover_cap=Decimal(20), tax_budget=TaxBudget(max_tax=Decimal(100))
        )
    elif name == "covariance":
        symbols = sorted(PRICES)
        rng = np.random.default_rng(3)
        x = rng.normal(size=(len(symbols), 40))
        covariance = Covariance(symbols=tuple(symbols), matrix=np.cov(x) * 0.05)
    elif name == "no lots":
        book_account = account(cash=10_000)
    elif name == "one lot":
        book_account = account(lot("a", "BND", 10, 70, "2020-01-02"), cash=100)
    book = build_book(book_account, PRICES, as_of=AS_OF, securities=default_securities(), tax=TAX)
    qp, _ = prepare_qp(book, options, TAX, covariance)
    return qp, covariance


@pytest.mark.parametrize("name", ["plain", "capped", "budgets", "everything", "covariance", "no lots", "one lot"])
def test_constraints_equal_the_documented_blocks(name: str) -> None:
    qp, _ = _case(name)
    n = 2 * qp.n_sec + qp.n_lots + len(CLASSES) + qp.G.shape[0]
    A, lo, hi = _constraints(qp, n)
    expected, expected_lo, expected_hi = _reference(qp)
    assert A.shape == expected.shape
    assert A.indices.dtype == np.int32 and A.indptr.dtype == np.int32
    dense = sp.csc_matrix((A.data, A.indices, A.indptr), shape=A.shape)
    assert dense.has_sorted_indices  # each column's entries in row order, as OSQP wants
    np.testing.assert_array_equal(dense.toarray(), expected)
    np.testing.assert_array_equal(lo, expected_lo)
    np.testing.assert_array_equal(hi, expected_hi)
