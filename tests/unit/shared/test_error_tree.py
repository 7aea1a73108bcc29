"""One error tree: every exception class the project defines descends from ``RebalancerError``, and the
tree drawn in ``shared.errors``'s docstring names every class of it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import shared.errors
from shared.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    RebalancerError,
    TransientError,
    http_status,
    is_retryable,
)

PACKAGES = ("contracts", "shared", "services", "cli")
ROOT = Path(__file__).resolve().parents[3]


def _project_modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if info.name.endswith("__main__") or ".testing" in info.name:
                continue
            names.append(info.name)
    return names


def _project_errors() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for name in _project_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.split(".")[0] in PACKAGES:
                found.add(value)
    return found


@pytest.fixture(scope="module")
def errors() -> set[type[BaseException]]:
    return _project_errors()


def test_the_hierarchy_has_one_root(errors: set[type[BaseException]]) -> None:
    assert len(errors) > 25
    outside = sorted(f"{e.__module__}.{e.__qualname__}" for e in errors if not issubclass(e, RebalancerError))
    assert outside == []
    roots = {e for e in errors if not any(issubclass(b, RebalancerError) for b in e.__bases__)}
    assert roots == {RebalancerError}


def test_the_docstring_draws_every_class_once(errors: set[type[BaseException]]) -> None:
    drawn = re.findall(r"^[│├└─\s]*([A-Z]\w+Error)\s", shared.errors.__doc__ or "", flags=re.M)
    assert len(drawn) == len(set(drawn))
    assert set(drawn) == {e.__name__ for e in errors}


def test_each_edge_maps_the_tree_once() -> None:
    from contracts import ContractError
    from services.market_data.domain import ProviderError, ProviderTimeoutError, UnknownSymbolError

    assert [http_status(e) for e in (NotFoundError("x"), UnknownSymbolError("VTI"), ContractError("x"))] == [
        404,
        404,
        400,
    ]
    assert [http_status(e) for e in (DomainError("x"), ConflictError("x"), TransientError("x"), KeyError())] == [
        409,
        409,
        503,
        500,
    ]
    assert not is_retryable(InvalidInputError("x")) and is_retryable(ProviderTimeoutError("timed out"))
    assert is_retryable(ProviderError("bad gateway", status=502)) and not is_retryable(ProviderError("no", status=404))
    assert isinstance(UnknownSymbolError("VTI"), KeyError) and str(UnknownSymbolError("VTI")).startswith("unknown")
