"""Target models by risk tolerance (percent of the account by asset class)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

__all__ = ["MODELS", "target_for"]

_D = Decimal
MODELS: Final[Mapping[str, Mapping[str, Decimal]]] = MappingProxyType(
    {
        "conservative": {"equity": _D(40), "bond": _D(50), "reit": _D(5), "cash": _D(5)},
        "moderate": {"equity": _D(70), "bond": _D(20), "reit": _D(10), "cash": _D(0)},
        "aggressive": {"equity": _D(85), "bond": _D(10), "reit": _D(5), "cash": _D(0)},
    }
)


def target_for(risk_tolerance: str) -> dict[str, Decimal]:
    """The model's target allocation; the percentages add up to 100."""
    try:
        return dict(MODELS[risk_tolerance])
    except KeyError:
        raise ValueError(f"unknown risk tolerance {risk_tolerance!r}; one of {', '.join(MODELS)}") from None
