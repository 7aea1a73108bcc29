"""The factored covariance is memoized by content, bounded, and never stale."""

from __future__ import annotations

import numpy as np

from services.rebalancing.domain import qp
from services.rebalancing.domain.model import Covariance

SYMBOLS = ["AAA", "BBB", "CCC"]
CLASS = np.array([0, 0, 1], dtype=np.int64)


def _cov(scale: float) -> Covariance:
    m = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.0], [0.0, 0.0, 0.01]]) * scale
    return Covariance(symbols=tuple(SYMBOLS), matrix=m)


def test_same_content_reuses_the_factorization() -> None:
    qp._FACTORED.clear()
    G1, h1 = qp._risk_model(SYMBOLS, CLASS, _cov(1.0))
    G2, h2 = qp._risk_model(SYMBOLS, CLASS, _cov(1.0))  # another object, same numbers
    assert G2 is G1 and h2 is h1
    assert not G1.flags.writeable


def test_changed_numbers_are_factored_again() -> None:
    qp._FACTORED.clear()
    cov = _cov(1.0)
    G1, _ = qp._risk_model(SYMBOLS, CLASS, cov)
    cov.matrix[0, 0] = 0.16  # the same object, changed in place
    G2, h2 = qp._risk_model(SYMBOLS, CLASS, cov)
    G3, h3 = qp._factor(np.ascontiguousarray(cov.matrix), [0, 1, 2], 3)
    assert G2 is not G1
    np.testing.assert_array_equal(G2, G3)
    np.testing.assert_array_equal(h2, h3)


def test_cache_is_bounded() -> None:
    qp._FACTORED.clear()
    for k in range(qp._FACTORED_MAX + 5):
        qp._risk_model(SYMBOLS, CLASS, _cov(1.0 + k))
    assert len(qp._FACTORED) == qp._FACTORED_MAX
