"""Subject names: every subject follows ``<domain>.v<major>.<kind>.<name>`` or is a public subject, and no
code outside ``contracts/subjects.py`` writes a subject string inline (DESIGN.md section 3)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from contracts import subjects

ROOT = Path(__file__).resolve().parents[2]
SERVICE = r"[a-z][a-z_]*"
NAME = r"[a-z][a-z0-9-]*"
SUBJECT = re.compile(rf"^{SERVICE}\.v[1-9][0-9]*\.(cmd|evt|query)\.{NAME}$")
PUBLIC = re.compile(rf"^(rebalance|trade|report|run)\.v[1-9][0-9]*\.{NAME}$")
INLINE = re.compile(r"\.v\d+\.|^v\d+\.|^[a-z_*]+\.v\d+$")


def _subject_constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(subjects).items()
        if name.isupper() and isinstance(value, str) and ".v" in value
    }


def test_there_are_subjects_to_check() -> None:
    assert len(_subject_constants()) >= 30


@pytest.mark.parametrize("name", sorted(_subject_constants()))
def test_subject_follows_the_naming_rule(name: str) -> None:
    value = _subject_constants()[name]
    if value in subjects.PUBLIC_SUBJECTS:
        assert PUBLIC.match(value), value
    elif name in ("TIMER_FIRE_ALL", "TIMERS_ALL", "SCHEDULE_DEFINITIONS", "RUN_TIMER_SCHEDULES", "DLQ_PREFIX"):
        assert value.startswith(("run.v1.timer.", "dlq.v1")), value
    elif name == "EVENTS_ALL":
        assert value == "*.v1.evt.>"
    else:
        assert SUBJECT.match(value), f"{name} = {value!r}"


def test_public_subjects_are_the_stable_api() -> None:
    assert set(subjects.PUBLIC_SUBJECTS) >= {
        "rebalance.v1.requested",
        "trade.v1.executed",
        "trade.v1.rejected",
        "report.v1.generated",
        "run.v1.completed",
        "run.v1.failed",
    }


def test_commands_and_events_are_named_after_their_service() -> None:
    for subject in subjects.COMMAND_SUBJECTS:
        service, version, kind, _ = subject.split(".")
        assert (service in subjects.SERVICES, version, kind) == (True, "v1", "cmd"), subject
    for subject in subjects.EVENT_SUBJECTS:
        service, version, kind, _ = subject.split(".")
        assert (service in subjects.SERVICES, version, kind) == (True, "v1", "evt"), subject
    assert len(set(subjects.COMMAND_SUBJECTS)) == len(subjects.COMMAND_SUBJECTS)
    assert tuple(f"{c}.bundle" for c in subjects.COMMAND_SUBJECTS) == subjects.BUNDLE_SUBJECTS
    assert subjects.bundle_subject(subjects.REBALANCING_PLAN) == "rebalancing.v1.cmd.plan.bundle"
    assert len(set(subjects.EVENT_SUBJECTS)) == len(subjects.EVENT_SUBJECTS)


def test_subject_builders() -> None:
    assert subjects.step_failed("tax") == "tax.v1.evt.step-failed"
    assert SUBJECT.match(subjects.step_failed("tax"))
    assert subjects.timer_fire("r1", "tax-context") == "run.v1.timer.fire.r1.tax-context"
    assert subjects.timer_schedule("r1", "tax-context") == "run.v1.timer.schedule.r1.tax-context"
    assert subjects.run_timer_schedule("r1") == "run.v1.timer.schedule.r1"
    assert subjects.dlq_subject("tax.v1.cmd.review-plan") == "dlq.v1.tax.v1.cmd.review-plan"


def _inline_subjects(root: Path) -> list[str]:
    """String literals (docstrings excluded) that look like a versioned subject, with file and line."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    docstrings.add(id(body[0].value))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and INLINE.search(node.value)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_the_inline_check_finds_subjects() -> None:
    found = _inline_subjects(ROOT / "contracts")
    assert any("subjects.py" in line and "portfolio.v1.cmd.load" in line for line in found)
    assert all("contracts/subjects.py" in line for line in found), found


def test_no_service_writes_a_subject_string_inline() -> None:
    assert _inline_subjects(ROOT / "services") == []


def test_cli_writes_no_subject_string_inline() -> None:
    assert _inline_subjects(ROOT / "cli") == []


def test_shared_writes_no_subject_string_inline() -> None:
    assert _inline_subjects(ROOT / "shared") == []
