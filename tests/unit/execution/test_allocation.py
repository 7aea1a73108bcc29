"""Block allocation: pro rata, exact, never more than asked, fair over repeated batches."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.execution.domain import allocate_block

D = Decimal

requests = st.dictionaries(
    st.sampled_from([f"acct-{i}" for i in range(8)]), st.integers(min_value=0, max_value=500).map(D), min_size=1
)


def test_pro_rata_with_the_largest_remainder() -> None:
    # quotas 7 * (5, 3, 2) / 10 = 3.5, 2.1, 1.4 -> floors 3, 2, 1; one share left: a (remainder .5)
    assert allocate_block({"a": D(5), "b": D(3), "c": D(2)}, D(7)) == {"a": D(4), "b": D(2), "c": D(1)}


def test_ties_rotate_with_the_batch_counter() -> None:
    asked = {"a": D(1), "b": D(1), "c": D(1)}
    winners = [next(a for a, q in allocate_block(asked, D(1), rotation=n).items() if q) for n in range(6)]
    assert winners == ["a", "b", "c", "a", "b", "c"]


def test_fractional_allocation_to_the_millionth() -> None:
    got = allocate_block({"a": D(1), "b": D(2)}, D("1.5"), fractional=True)
    assert got == {"a": D("0.500000"), "b": D("1.000000")}


@given(requests, st.data(), st.integers(min_value=0, max_value=1000), st.booleans())
def test_allocation_sums_exactly_and_never_exceeds_the_request(
    asked: dict[str, Decimal], data: st.DataObject, rotation: int, fractional: bool
) -> None:
    total = sum(asked.values(), D(0))
    filled = D(data.draw(st.integers(min_value=0, max_value=int(total)))) if total else D(0)
    got = allocate_block(asked, filled, fractional=fractional, rotation=rotation)
    assert set(got) == set(asked)
    assert sum(got.values(), D(0)) == filled
    for account, shares in got.items():
        assert D(0) <= shares <= asked[account]
        if total:
            assert abs(shares - filled * asked[account] / total) < 1  # within one share of its quota


@given(st.integers(min_value=2, max_value=7), st.integers(min_value=1, max_value=6))
def test_equal_requests_share_the_odd_shares_evenly_over_batches(accounts: int, odd: int) -> None:
    asked = {f"acct-{i}": D(10) for i in range(accounts)}
    filled = D(10 * accounts - 10) + D(odd % accounts)  # whole rounds plus some odd shares
    extra: Counter[str] = Counter()
    for batch in range(accounts * 3):
        got = allocate_block(asked, filled, rotation=batch)
        base = min(got.values())
        extra.update(a for a, q in got.items() if q > base)
    assert max(extra.values(), default=0) - min((extra[a] for a in asked), default=0) <= 0
