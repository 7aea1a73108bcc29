"""Each public name is exported once and resolves."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["services.market_data.domain", "services.analysis.domain"])
def test_all_is_complete_and_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_analysis_does_not_import_market_data() -> None:
    import pathlib

    root = pathlib.Path(importlib.import_module("services.analysis").__file__).parent  # type: ignore[arg-type]
    for path in root.rglob("*.py"):
        assert "market_data" not in path.read_text(), path
