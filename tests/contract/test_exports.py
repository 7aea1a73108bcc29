"""``contracts.__all__`` is complete: every public struct, function and type alias of the contracts modules is
exported, every exported name exists, and no name is listed twice."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import contracts

MODULES = ["envelope", "values", "messages", "batches", "report", "runs", "snapshot", "queries", "codec", "subjects"]
# Exported from ``contracts`` by name; ``subjects`` is exported as a namespace (``contracts.subjects.X``).
FLAT = [m for m in MODULES if m != "subjects"]


def _defined_public(module_name: str) -> set[str]:
    """Classes and functions defined in the module, and type aliases assigned in it (``X = Literal[...]``)."""
    module = importlib.import_module(f"contracts.{module_name}")
    names = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    }
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))  # type: ignore[arg-type]
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if (
                isinstance(target, ast.Name)
                and not target.id.startswith("_")
                and isinstance(node.value, (ast.Subscript, ast.BinOp))
                and "Literal" in ast.unparse(node.value)
            ):
                names.add(target.id)
    return names


def test_no_duplicates_and_every_exported_name_exists() -> None:
    assert len(contracts.__all__) == len(set(contracts.__all__))
    for name in contracts.__all__:
        assert hasattr(contracts, name), name


@pytest.mark.parametrize("module_name", MODULES)
def test_module_all_exists_and_has_no_duplicates(module_name: str) -> None:
    module = importlib.import_module(f"contracts.{module_name}")
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert hasattr(module, name), f"contracts.{module_name}.{name}"


@pytest.mark.parametrize("module_name", MODULES)
def test_module_all_lists_every_public_definition(module_name: str) -> None:
    module = importlib.import_module(f"contracts.{module_name}")
    missing = _defined_public(module_name) - set(module.__all__)
    assert missing == set()


@pytest.mark.parametrize("module_name", FLAT)
def test_package_exports_every_module_export(module_name: str) -> None:
    module = importlib.import_module(f"contracts.{module_name}")
    missing = set(module.__all__) - set(contracts.__all__)
    assert missing == set()
    for name in module.__all__:
        assert getattr(contracts, name) is getattr(module, name), name


def test_subjects_namespace_is_exported() -> None:
    from contracts import subjects

    assert "subjects" in contracts.__all__
    assert contracts.subjects is subjects
    for name in ("step_failed", "timer_fire", "timer_schedule", "dlq_subject"):
        assert name in subjects.__all__


def test_every_exported_struct_is_a_value_or_envelope() -> None:
    import msgspec

    from contracts import Envelope, Value

    for name in contracts.__all__:
        obj = getattr(contracts, name)
        if inspect.isclass(obj) and issubclass(obj, msgspec.Struct):
            assert issubclass(obj, (Value, Envelope)), name
