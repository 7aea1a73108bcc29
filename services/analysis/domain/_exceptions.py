"""Errors of the analysis domain.

Hierarchy (one line per class):

    AnalysisError                   base of every error raised by this package (a ValueError)
    ├── WeightsError                weights that do not sum to 1, name unknown symbols, or are not finite
    ├── InsufficientDataError       too few observations for a statistic (names what is needed)
    └── RegimeDateError             a regime date outside the VIX / proxy history
"""

from __future__ import annotations

__all__ = ["AnalysisError", "InsufficientDataError", "RegimeDateError", "WeightsError"]


class AnalysisError(ValueError):
    """Base class of analysis errors."""


class WeightsError(AnalysisError):
    """Portfolio weights that cannot be used."""


class InsufficientDataError(AnalysisError):
    """Too few observations for a statistic."""


class RegimeDateError(AnalysisError):
    """A market-regime date outside the available history."""
