"""Property: duplicate deliveries of step results, in any order, end in the state of delivering each once.

``None`` in a delivery order stands for the coordinator's own ``generate-report`` (the report built from the
stored outputs), which may run again too (after a redelivery or a restart)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import RunRecord
from services.coordinator.domain import apply_result, start_run
from services.coordinator.domain.transitions import StepResult
from tests.unit.coordinator.helpers import Scenario, at, drive, report, requested, result, running

SCENARIOS = [
    Scenario(),
    Scenario(dry_run=True),
    Scenario(account_type="traditional_ira"),
    Scenario(timing="poor", vix=45.0),
    Scenario(needs_rebalancing=False, with_trades=False),
]
WHEN = at(7)


Delivery = StepResult | None


def _canonical(s: Scenario) -> list[Delivery]:
    """The results of a run, one per step, in the order the steps run (``None``: the report)."""
    states = drive(s)
    return [
        None if running(before)[0] == "generate-report" else result(before, running(before)[0], s)
        for before in states[:-1]
    ]


CANONICAL = {i: _canonical(s) for i, s in enumerate(SCENARIOS)}


def _deliver(record: RunRecord, event: Delivery) -> RunRecord:
    after = report(record, WHEN) if event is None else apply_result(record, event, WHEN)
    return record if after is None else after


def _once(index: int) -> RunRecord:
    record = start_run(requested(SCENARIOS[index]), at(0))
    for event in CANONICAL[index]:
        record = _deliver(record, event)
    return record


ONCE = {i: _once(i) for i in CANONICAL}


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[int, list[Delivery]]:
    """A scenario and a delivery order: every result at least once, in step order, with duplicates of any
    result (earlier or later steps, also of other attempts) inserted anywhere."""
    index = draw(st.integers(0, len(SCENARIOS) - 1))
    events = CANONICAL[index]
    n = len(events)
    extras = draw(
        st.lists(
            st.tuples(st.integers(0, n), st.integers(0, n - 1), st.integers(1, 3)),
            max_size=3 * n,
        )
    )
    slots: list[list[Delivery]] = [[] for _ in range(n + 1)]
    for position, which, attempt in extras:
        event = events[which]
        if event is not None and attempt != 1:
            event = type(event)(
                **{f: getattr(event, f) for f in event.__struct_fields__ if f != "attempt"}, attempt=attempt
            )
        slots[position].append(event)
    order: list[Delivery] = []
    for position in range(n + 1):
        order.extend(slots[position])
        if position < n:
            order.append(events[position])
    return index, order


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_duplicate_deliveries_end_in_the_state_of_single_deliveries(case: tuple[int, list[Delivery]]) -> None:
    index, order = case
    record = start_run(requested(SCENARIOS[index]), at(0))
    for event in order:
        record = _deliver(record, event)
    assert record == ONCE[index]


def test_the_reference_runs_complete() -> None:
    for record in ONCE.values():
        assert record.status == "completed"
        assert record.step("send-notifications").status == "completed"
