"""Benchmarks (not tests): ``python -m bench`` runs every ``bench/bench_*.py`` module's ``main()``.

Numerical libraries are pinned to one core before anything imports numpy.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
