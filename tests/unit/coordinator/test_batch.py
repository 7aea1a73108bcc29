"""A batch's pacing: at most ``max_in_flight`` runs under way, each account released once and in order,
every end recorded once, and the batch completed exactly when every run has ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from contracts import BatchRecord, BatchRequested, RebalanceRequest
from services.coordinator.domain import finish_run, new_batch, released_between, unique_accounts

NOW = datetime(2026, 5, 1, 21, 30, tzinfo=UTC)


def _request(accounts: list[str], max_in_flight: int = 0) -> BatchRequested:
    return BatchRequested(
        run_id="b1", message_id="b1", occurred_at=NOW, account_ids=accounts,
        request=RebalanceRequest(account_id=accounts[0] if accounts else "x", dry_run=True),
        max_in_flight=max_in_flight,
    )  # fmt: skip


def test_a_new_batch_releases_its_window_in_order() -> None:
    record = new_batch(_request(["a", "b", "c", "d", "e"]), NOW, default_max_in_flight=2)
    assert record.states == "rrppp" and record.status == "running" and record.max_in_flight == 2
    assert released_between(None, record) == [0, 1]


def test_the_request_s_window_wins_over_the_deployment_s() -> None:
    assert new_batch(_request(["a", "b", "c"], max_in_flight=3), NOW, default_max_in_flight=1).states == "rrr"


def test_an_account_named_twice_runs_once() -> None:
    assert unique_accounts(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]
    assert new_batch(_request(["a", "b", "a"]), NOW, default_max_in_flight=5).states == "rr"


def test_a_finished_run_releases_the_next_account() -> None:
    record = new_batch(_request(["a", "b", "c", "d"]), NOW, default_max_in_flight=2)
    later = NOW + timedelta(seconds=1)
    after = finish_run(record, 1, "failed", later)
    assert after is not None and after.states == "rfrp" and after.updated_at == later
    assert released_between(record, after) == [2]


def test_recording_an_end_twice_changes_nothing() -> None:
    record = new_batch(_request(["a", "b"]), NOW, default_max_in_flight=1)
    after = finish_run(record, 0, "completed", NOW)
    assert after is not None
    assert finish_run(after, 0, "completed", NOW) is None
    assert finish_run(after, 0, "failed", NOW) is None  # an end is final


def test_a_run_still_under_way_or_out_of_range_changes_nothing() -> None:
    record = new_batch(_request(["a", "b"]), NOW, default_max_in_flight=1)
    assert finish_run(record, 0, "running", NOW) is None
    assert finish_run(record, 5, "completed", NOW) is None


def test_the_batch_completes_when_its_last_run_ends() -> None:
    record = new_batch(_request(["a", "b"]), NOW, default_max_in_flight=2)
    first = finish_run(record, 0, "completed", NOW)
    assert first is not None and first.status == "running" and first.finished_at is None
    done = finish_run(first, 1, "cancelled", NOW + timedelta(seconds=3))
    assert done is not None and done.status == "completed" and done.states == "cx"
    assert done.finished_at == NOW + timedelta(seconds=3)
    assert (done.count("c"), done.count("x")) == (1, 1)


@given(
    size=st.integers(1, 40),
    window=st.integers(1, 10),
    order=st.lists(st.integers(0, 10_000), max_size=200),
    statuses=st.lists(st.sampled_from(["completed", "failed", "cancelled"]), min_size=1, max_size=5),
)
def test_pacing_properties(size: int, window: int, order: list[int], statuses: list[str]) -> None:
    """Whatever order runs end in (with repeats): never more than ``window`` under way, accounts released
    in order, each once, and the batch completes exactly when every account has ended."""
    record: BatchRecord = new_batch(_request([f"a{i}" for i in range(size)]), NOW, default_max_in_flight=window)
    released = released_between(None, record)
    steps = [*order, *range(size)] * 2  # then end every run, twice
    for n, pick in enumerate(steps):
        under_way = [i for i, s in enumerate(record.states) if s == "r"]
        assert len(under_way) <= window
        if not under_way:
            break
        index = under_way[pick % len(under_way)] if n < len(order) else pick
        after = finish_run(record, index, statuses[n % len(statuses)], NOW)  # type: ignore[arg-type]
        if after is None:
            assert record.states[index] in "cfx"
            continue
        released += released_between(record, after)
        record = after
    assert released == list(range(size))
    assert record.status == "completed" and record.finished_at is not None
    assert set(record.states) <= set("cfx") and len(record.states) == size


def test_a_chunked_batch_releases_whole_chunks_and_the_rest_at_the_end() -> None:
    record = new_batch(_request(list("abcdefg")), NOW, default_max_in_flight=4, release_step=2)
    assert record.states == "rrrrppp" and record.release_step == 2
    one = finish_run(record, 0, "completed", NOW)
    assert one is not None and one.states == "crrrppp"  # one slot free: less than a chunk, nothing released
    two = finish_run(one, 1, "completed", NOW)
    assert two is not None and two.states == "ccrrrrp"
    three = finish_run(finish_run(two, 2, "completed", NOW) or two, 3, "failed", NOW)
    assert three is not None and three.states == "cccfrrr"  # the last one goes alone
    assert new_batch(_request(list("abc")), NOW, default_max_in_flight=2, release_step=5).release_step == 2
