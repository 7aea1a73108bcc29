"""Allocate a block order's fill back to the accounts that asked for it (pure).

Pro rata: account *i* asked ``r_i`` shares of the block's ``sum(r)``; its quota of the ``filled`` shares
is ``filled x r_i / sum(r)``. Each account first gets its quota floored to the unit (1 share, or 0.000001
when fractional shares are allowed). The units left over go one each, in order of the largest remainder
of the quota; ties are broken by a rotation of the accounts (sorted by id) that starts at position
``rotation mod n``, so across batches (``rotation`` = the batch's counter) every tied account is first
equally often. No account gets more than it asked for, and the shares allocated sum exactly to
``filled`` (whole units; a fill finer than the unit leaves the excess unallocated, which the caller
reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal

__all__ = ["allocate_block"]

_WHOLE = Decimal(1)
_FRACTION = Decimal("0.000001")


def allocate_block(
    requested: Mapping[str, Decimal], filled: Decimal, *, fractional: bool = False, rotation: int = 0
) -> dict[str, Decimal]:
    """Shares of ``filled`` for each account of ``requested`` (every account appears, maybe with 0)."""
    unit = _FRACTION if fractional else _WHOLE
    total = sum(requested.values(), Decimal(0))
    if any(r < 0 for r in requested.values()):
        raise ValueError("a requested quantity is negative")
    if filled < 0 or filled > total:
        raise ValueError(f"filled {filled} is outside 0..{total}")
    to_share = filled.quantize(unit, rounding=ROUND_FLOOR)
    if total == 0 or to_share == 0:
        return {account: Decimal(0) for account in requested}
    quotas = {a: to_share * r / total for a, r in requested.items()}
    given = {a: min(q.quantize(unit, rounding=ROUND_FLOOR), requested[a]) for a, q in quotas.items()}
    left = int((to_share - sum(given.values(), Decimal(0))) / unit)
    ids = sorted(requested)
    start = rotation % len(ids)
    turn = {a: (i - start) % len(ids) for i, a in enumerate(ids)}
    order = sorted(ids, key=lambda a: (-(quotas[a] - given[a]), turn[a]))
    while left > 0:
        progressed = False
        for account in order:
            if left == 0:
                break
            if given[account] + unit <= requested[account]:
                given[account] += unit
                left -= 1
                progressed = True
        if not progressed:  # every account has all it asked for; cannot happen while filled <= total
            break
    return given
