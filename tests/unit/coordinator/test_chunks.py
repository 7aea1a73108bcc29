"""Chunks: a batch's dry runs driven together, each run exactly as it would run alone.

The equivalence test drives a chunk and the same runs one by one with the same answers and compares every
run's final record; the others pin what travels (one bundle per step, no timer messages), failure
isolation, deadlines and retries without timers, and which entries of a result bundle count.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from contracts import (
    BatchRecord,
    ChunkRecord,
    CommandBundle,
    LoadPortfolio,
    RebalanceRequest,
    RebalanceRequested,
    ResultBundle,
    RunRecord,
    StepFailed,
    decode,
    encode,
    subjects,
)
from services.coordinator.domain import ReportInputs, apply_report, apply_result, build_report, start_run
from services.coordinator.domain.batch import finish_runs
from services.coordinator.domain.chunk import (
    apply_due_timers,
    apply_events,
    chunk_effects,
    chunk_id_of,
    eligible,
    is_quiet,
    next_due,
    output_key,
    resume_pairs,
    start_chunk,
    with_output,
)
from services.coordinator.domain.trust import bundle_problem, entry_problem
from tests.unit.coordinator.helpers import NOW, POLICY, Scenario, at, failure, result

SCENARIOS = {
    "a-taxable": Scenario(dry_run=True),
    "b-ira": Scenario(dry_run=True, account_type="ira"),
    "c-balanced": Scenario(dry_run=True, needs_rebalancing=False, with_trades=False),
}


def _requested(account: str) -> RebalanceRequested:
    request = RebalanceRequest(account_id=account, dry_run=True)
    run_id = f"run-{account}"
    return RebalanceRequested(run_id=run_id, message_id=run_id, occurred_at=NOW, request=request, source="batch:b1")


def _chunk(accounts: list[str] | None = None) -> ChunkRecord:
    accounts = accounts or list(SCENARIOS)
    return start_chunk(chunk_id_of("b1", accounts), "b1", [_requested(a) for a in accounts], NOW)


def _scenario(run: RunRecord) -> Scenario:
    return SCENARIOS[run.request.account_id]


def _commands(bundle: CommandBundle) -> list[Any]:
    return [decode(bytes(raw)) for raw in bundle.commands]


def _bundles(chunk: ChunkRecord, pairs: list[tuple[RunRecord | None, RunRecord]]) -> dict[str, CommandBundle]:
    messages, _ = chunk_effects(chunk, pairs, NOW, POLICY)
    return {m.message.step: m.message for m in messages if isinstance(m.message, CommandBundle)}


def _report(run: RunRecord) -> RunRecord:
    report = build_report(run, ReportInputs(), NOW)
    after = apply_report(run, report, NOW)
    assert after is not None
    return after


def _drive_to(run: RunRecord, step: str) -> RunRecord:
    """Answer the run's steps until ``step`` is under way."""
    while run.current_step != step:
        after = apply_result(run, result(run, run.current_step or "", _scenario(run)), NOW)
        assert after is not None
        run = after
    return run


def _drive_chunk(chunk: ChunkRecord) -> ChunkRecord:
    """Answer every step of every run until each run is quiet (reports built as the driver builds them)."""
    for _ in range(20):
        waiting = [r for r in chunk.runs if not is_quiet(r)]
        if not waiting:
            return chunk
        events = []
        for run in waiting:
            if run.current_step == "generate-report":
                chunk = msgspec.structs.replace(
                    chunk, runs=[_report(r) if r.run_id == run.run_id else r for r in chunk.runs]
                )
                continue
            step = run.current_step or "send-notifications"
            events.append(result(run, step, _scenario(run)))
        chunk, _ = apply_events(chunk, events, NOW, POLICY)
    raise AssertionError("the chunk never finished")


def _drive_alone(run: RunRecord) -> RunRecord:
    for _ in range(20):
        if is_quiet(run):
            return run
        if run.current_step == "generate-report":
            run = _report(run)
            continue
        after = apply_result(run, result(run, run.current_step or "send-notifications", _scenario(run)), NOW)
        assert after is not None
        run = after
    raise AssertionError("the run never finished")


def test_each_run_of_a_chunk_ends_exactly_as_it_would_alone() -> None:
    chunk = _drive_chunk(_chunk())
    for run in chunk.runs:
        alone = _drive_alone(start_run(_requested(run.request.account_id), NOW))
        assert msgspec.structs.replace(run, chunk_id="") == alone
    statuses = {r.request.account_id: (r.status, r.should_rebalance) for r in chunk.runs}
    assert statuses == {
        "a-taxable": ("completed", True),
        "b-ira": ("completed", True),
        "c-balanced": ("completed", False),
    }


def test_a_new_chunk_sends_one_bundle_with_every_run_s_first_command_and_no_timer() -> None:
    chunk = _chunk()
    messages, reports = chunk_effects(chunk, resume_pairs(chunk), NOW, POLICY)
    assert reports == [] and len(messages) == 1
    (message,) = messages
    bundle = message.message
    assert isinstance(bundle, CommandBundle) and bundle.run_id == chunk.chunk_id and bundle.step == "load-portfolio"
    assert message.subject == subjects.bundle_subject(subjects.PORTFOLIO_LOAD) and message.msg_id == bundle.message_id
    commands = _commands(bundle)
    assert all(isinstance(c, LoadPortfolio) for c in commands)
    assert sorted(c.run_id for c in commands) == ["run-a-taxable", "run-b-ira", "run-c-balanced"]
    assert {c.account_id for c in commands} == set(SCENARIOS)
    # derived from the state: published again after a restart, it is the same message (JetStream drops it)
    again = chunk_effects(chunk, resume_pairs(chunk), at(5), POLICY)[0][0]
    assert again.msg_id == message.msg_id


def test_the_chunk_id_depends_on_its_members_only() -> None:
    assert chunk_id_of("b1", ["a", "b"]) == chunk_id_of("b1", ["a", "b"])
    assert len({chunk_id_of("b1", ["a", "b"]), chunk_id_of("b1", ["a"]), chunk_id_of("b2", ["a", "b"])}) == 3
    assert eligible(True, False, 25) and not eligible(False, False, 25)
    assert not eligible(True, True, 25) and not eligible(True, False, 1)


def test_a_step_s_results_move_only_the_runs_they_answer() -> None:
    chunk = _chunk()
    a, b, c = chunk.runs
    after, changes = apply_events(chunk, [result(a, "load-portfolio"), result(c, "load-portfolio")], NOW, POLICY)
    assert set(changes) == {a.run_id, c.run_id}
    assert [r.current_step for r in after.runs] == ["fetch-market-data", "load-portfolio", "fetch-market-data"]
    bundles = _bundles(after, list(changes.values()))
    assert set(bundles) == {"fetch-market-data"}
    assert sorted(c.run_id for c in _commands(bundles["fetch-market-data"])) == [a.run_id, c.run_id]
    # the same results again (a redelivered bundle), a run of another chunk, a stale attempt: nothing changes
    stranger = msgspec.structs.replace(result(a, "load-portfolio"), run_id="run-elsewhere")
    again, none = apply_events(
        after, [result(a, "load-portfolio"), stranger, result(b, "load-portfolio", attempt=2)], NOW, POLICY
    )
    assert none == {} and again is after


def test_a_run_that_fails_fails_alone_and_its_notification_travels_in_a_bundle() -> None:
    chunk = _chunk()
    a, b, c = chunk.runs
    after, changes = apply_events(
        chunk,
        [result(a, "load-portfolio"), failure(b, "load-portfolio", retryable=False), result(c, "load-portfolio")],
        NOW,
        POLICY,
    )
    runs = {r.run_id: r for r in after.runs}
    assert runs[b.run_id].status == "failed" and runs[b.run_id].failed_step == "load-portfolio"
    assert runs[a.run_id].status == runs[c.run_id].status == "running"
    bundles = _bundles(after, list(changes.values()))
    assert set(bundles) == {"fetch-market-data", "send-notifications"}
    assert [c.run_id for c in _commands(bundles["send-notifications"])] == [b.run_id]


def test_deadlines_and_retries_are_checked_without_timer_messages() -> None:
    chunk = _chunk(["a-taxable", "b-ira"])
    a, b = chunk.runs
    chunk, _ = apply_events(chunk, [result(a, "load-portfolio")], at(1), POLICY)
    assert next_due(chunk, POLICY) == NOW + timedelta(seconds=POLICY.timeout_seconds)  # b's deadline
    unchanged, none = apply_due_timers(chunk, at(29), POLICY)
    assert none == {} and unchanged is chunk
    timed_out, changes = apply_due_timers(chunk, at(30), POLICY)
    assert set(changes) == {b.run_id}
    late = {r.run_id: r for r in timed_out.runs}[b.run_id]
    assert late.step("load-portfolio").status == "retrying" and "timed out" in (late.step("load-portfolio").error or "")
    assert _bundles(timed_out, list(changes.values())) == {}  # waits for its retry time, sends nothing
    retry_at = next_due(timed_out, POLICY)
    assert retry_at == at(30) + timedelta(seconds=POLICY.delay_after(1))
    retried, changes = apply_due_timers(timed_out, retry_at, POLICY)
    bundle = _bundles(retried, list(changes.values()))["load-portfolio"]
    (command,) = _commands(bundle)
    assert command.run_id == b.run_id and command.attempt == 2


def test_a_finished_run_waits_for_its_notification_then_is_quiet() -> None:
    chunk = _drive_chunk(_chunk(["a-taxable"]))
    assert all(is_quiet(r) for r in chunk.runs) and next_due(chunk, POLICY) is None
    (run,) = chunk.runs
    waiting = msgspec.structs.replace(
        run,
        steps=[
            msgspec.structs.replace(s, status="running") if s.name == "send-notifications" else s for s in run.steps
        ],
    )
    assert not is_quiet(waiting)
    assert next_due(msgspec.structs.replace(chunk, runs=[waiting]), POLICY) is not None  # it cannot hang forever


def test_an_output_is_referenced_only_when_a_result_in_it_was_accepted() -> None:
    chunk = _chunk()
    a = chunk.runs[0]
    key = output_key(chunk.chunk_id, "load-portfolio", "m1")
    assert key.startswith(f"{chunk.chunk_id}.load-portfolio.") and key != output_key(
        chunk.chunk_id, "load-portfolio", "m2"
    )
    after, changes = apply_events(chunk, [result(a, "load-portfolio")], NOW, POLICY)
    noted = with_output(after, "load-portfolio", key, changes)
    assert noted.outputs == {"load-portfolio": [key]}
    assert with_output(noted, "load-portfolio", key, changes) is noted  # once
    failed, changes = apply_events(chunk, [failure(a, "load-portfolio", retryable=True)], NOW, POLICY)
    assert with_output(failed, "load-portfolio", key, changes).outputs == {}
    # the later steps' bundles name it
    later = _bundles(noted, [(chunk.runs[0], noted.runs[0])])["fetch-market-data"]
    assert later.inputs == {}  # the market data step reads no earlier output
    planning = msgspec.structs.replace(noted, outputs={**noted.outputs, "execute-trades": ["elsewhere"]})
    run = _drive_to(noted.runs[0], "analyze-market-conditions")
    bundle = _bundles(planning, [(noted.runs[0], run)])["analyze-market-conditions"]
    assert bundle.inputs == {"load-portfolio": [key]}  # what its service reads, nothing more


def test_a_batch_counts_a_chunk_s_ends_in_one_change_and_once() -> None:
    record = BatchRecord(
        batch_id="b1", status="running", request=RebalanceRequest(account_id="a", dry_run=True),
        states="rrrp", max_in_flight=3, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    after = finish_runs(record, [(0, "completed"), (2, "failed")], at(1))
    assert after is not None and after.states == "crfr"
    assert finish_runs(after, [(0, "completed"), (2, "failed")], at(2)) is None


def _bundle(service: str, step: str, entries: list[object]) -> ResultBundle:
    return ResultBundle(
        run_id="chunk-1", message_id="chunk-1:x:results", occurred_at=NOW, step=step, service=service,
        results=[msgspec.Raw(encode(e)) for e in entries],
    )  # fmt: skip


def test_a_result_bundle_counts_only_from_the_service_that_owns_its_step() -> None:
    run = _chunk().runs[0]
    good = _bundle("portfolio", "load-portfolio", [result(run, "load-portfolio")])
    assert bundle_problem(subjects.step_results("portfolio"), good) is None
    assert "portfolio" in (bundle_problem(subjects.step_results("tax"), good) or "")
    forged = _bundle("tax", "load-portfolio", [])
    assert bundle_problem(subjects.step_results("portfolio"), forged) is not None
    assert bundle_problem(subjects.step_results("portfolio"), _bundle("portfolio", "nope", [])) is not None


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("other-step", "holds a result of"),
        ("wrong-service-failure", "comes from portfolio"),
        ("not-a-result", "is not a step result"),
    ],
)
def test_an_entry_that_does_not_answer_its_bundle_s_step_is_refused(entry: str, problem: str) -> None:
    run = _chunk().runs[0]
    bundle = _bundle("portfolio", "load-portfolio", [])
    wrong = {
        "other-step": result(run, "tax-context"),
        "wrong-service-failure": StepFailed(
            run_id=run.run_id,
            message_id="m",
            occurred_at=NOW,
            step="load-portfolio",
            service="tax",
            error="x",
            retryable=False,
        ),
        "not-a-result": _requested("a-taxable"),
    }[entry]
    assert problem in (entry_problem(bundle, wrong) or "")
    assert entry_problem(bundle, result(run, "load-portfolio")) is None


def test_a_chunk_record_is_stored_compressed_and_read_back_exactly() -> None:
    from contracts import ContractError, decode_chunk, encode_chunk

    chunk = _drive_chunk(_chunk())
    stored = encode_chunk(chunk)
    assert decode_chunk(stored) == chunk
    assert len(stored) * 4 < len(encode(chunk))  # the runs repeat one structure
    assert decode_chunk(encode(chunk)) == chunk  # plain JSON (an older writer) reads too
    with pytest.raises(ContractError, match="does not decompress"):
        decode_chunk(b"\x78garbage")


def test_a_cancelled_run_of_a_chunk_ends_alone_and_at_once() -> None:
    from services.coordinator.domain.chunk import cancel_run

    chunk = _chunk(["a-taxable", "b-ira"])
    a, b = chunk.runs
    after, changes = cancel_run(chunk, b.run_id, "client asked", at(1))
    assert set(changes) == {b.run_id}
    runs = {r.run_id: r for r in after.runs}
    assert runs[b.run_id].status == "cancelled" and is_quiet(runs[b.run_id])
    assert runs[a.run_id] == a
    assert _bundles(after, list(changes.values())) == {}  # nothing more is sent for it
    assert cancel_run(after, b.run_id, "again", at(2)) == (after, {})  # once
    assert cancel_run(after, "run-elsewhere", "x", at(2)) == (after, {})


def test_a_step_s_commands_too_heavy_for_one_message_go_in_several_bundles() -> None:
    chunk = _chunk()
    (whole,) = chunk_effects(chunk, resume_pairs(chunk), NOW, POLICY)[0]
    assert isinstance(whole.message, CommandBundle)
    one = len(bytes(whole.message.commands[0]))
    messages, _ = chunk_effects(chunk, resume_pairs(chunk), NOW, POLICY, max_bytes=2 * one + 10)
    bundles = [m.message for m in messages]
    assert all(isinstance(b, CommandBundle) for b in bundles) and len(bundles) == 2
    entries = [c.run_id for b in bundles for c in _commands(b)]  # type: ignore[arg-type]
    assert entries == [c.run_id for c in _commands(whole.message)]  # every run once, in order
    assert len({m.msg_id for m in messages}) == 2 and whole.msg_id not in {m.msg_id for m in messages}


def test_a_chunk_needs_two_runs_and_a_stranger_first_stops_nothing() -> None:
    assert eligible(True, False, 2)
    chunk = _chunk()
    a, b, _ = chunk.runs
    stranger = msgspec.structs.replace(result(a, "load-portfolio"), run_id="run-elsewhere")
    _, changes = apply_events(chunk, [stranger, result(a, "load-portfolio"), result(b, "load-portfolio")], NOW, POLICY)
    assert set(changes) == {a.run_id, b.run_id}


def test_two_results_of_one_run_in_one_message_keep_its_first_state_as_before() -> None:
    chunk = _chunk(["a-taxable"])
    (a,) = chunk.runs
    loaded = apply_result(a, result(a, "load-portfolio"), NOW)
    assert loaded is not None
    after, changes = apply_events(
        chunk, [result(a, "load-portfolio"), result(loaded, "fetch-market-data")], NOW, POLICY
    )
    before, now_ = changes[a.run_id]
    assert before == a and now_.current_step == "analyze-market-conditions" == after.runs[0].current_step


def test_a_finished_run_s_notification_is_due_its_step_timeout_after_its_last_change() -> None:
    (run,) = _drive_chunk(_chunk(["a-taxable"])).runs
    waiting = msgspec.structs.replace(
        run,
        updated_at=at(10),
        steps=[
            msgspec.structs.replace(s, status="running") if s.name == "send-notifications" else s for s in run.steps
        ],
    )
    chunk = msgspec.structs.replace(_chunk(["a-taxable"]), runs=[waiting])
    assert next_due(chunk, POLICY) == at(10) + timedelta(seconds=POLICY.timeout_seconds)


def test_resuming_a_chunk_publishes_a_finished_run_s_events_again_and_no_command() -> None:
    done = _drive_chunk(_chunk(["a-taxable"]))
    messages, _ = chunk_effects(done, resume_pairs(done), NOW, POLICY)
    assert sorted(m.subject for m in messages) == [subjects.REPORT_GENERATED, subjects.RUN_COMPLETED]
    (run,) = done.runs
    assert {m.msg_id for m in messages} == {f"{run.run_id}:report", f"{run.run_id}:completed"}


def test_each_bundle_names_exactly_the_outputs_its_service_reads() -> None:
    """``STEP_INPUTS`` against what ``shared.bus.step_inputs`` resolves each step's command from."""
    import inspect
    import re

    from services.coordinator.domain.chunk import STEP_INPUTS
    from shared.bus import step_inputs

    resolvers: dict[str, Any] = {
        "analyze-market-conditions": step_inputs._analyze,
        "tax-context": step_inputs._tax_context,
        "calculate-rebalancing": step_inputs._plan,
        "tax-optimization": step_inputs._review,
        "execute-trades": step_inputs._execute,
        "update-portfolio": step_inputs._apply,
    }
    for step, resolver in resolvers.items():
        source = inspect.getsource(resolver)
        read = set(re.findall(r'steps\.(?:get|find)\(command\.run_id, "([a-z-]+)"', source))
        read |= {"load-portfolio"} if "inputs.loaded(" in source else set()
        read |= {"calculate-rebalancing"} if "inputs.plan(" in source else set()
        assert set(STEP_INPUTS[step]) == read, step
    assert set(STEP_INPUTS) == set(resolvers)
