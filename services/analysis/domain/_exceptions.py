"""Errors of the analysis domain: the ``AnalysisError`` branch of the one error tree, drawn in
:mod:`shared.errors`."""

from __future__ import annotations

from shared.errors import InvalidInputError

__all__ = ["AnalysisError", "InsufficientDataError", "RegimeDateError", "WeightsError"]


class AnalysisError(InvalidInputError, ValueError):
    """Base class of analysis errors."""


class WeightsError(AnalysisError):
    """Portfolio weights that cannot be used."""


class InsufficientDataError(AnalysisError):
    """Too few observations for a statistic."""


class RegimeDateError(AnalysisError):
    """A market-regime date outside the available history."""
