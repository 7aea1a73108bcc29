"""The market snapshot: what is the same for every account on a date, computed once per (as-of, universe).

A snapshot is stored in the KV bucket ``snapshots`` under a content key (:func:`snapshot_id`: the date
and a digest of the universe and the quote rules), in two parts written by the services that own them:

* ``<snapshot_id>.prices`` (:class:`SnapshotPrices`, market_data): each symbol's actual close
  (``close_unadj``) as of the date, with change and stale flags, for the whole security master that has
  data at the date;
* ``<snapshot_id>.analysis`` (:class:`SnapshotAnalysis`, analysis): the regime and the Ledoit-Wolf
  covariance of daily total returns over the risk window.

Runs refer to a snapshot by id; nothing in a run message carries prices history. The same inputs give
the same content, so two runs that build the same snapshot at once write identical values.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Final

import msgspec

from contracts.envelope import Value
from contracts.values import MarketConditions, Quote

__all__ = [
    "SNAPSHOT_ANALYSIS",
    "SNAPSHOT_PRICES",
    "SnapshotAnalysis",
    "SnapshotPrices",
    "snapshot_id",
    "snapshot_key",
]

SNAPSHOT_PRICES: Final = "prices"
SNAPSHOT_ANALYSIS: Final = "analysis"


def snapshot_id(as_of: date, universe: list[str], *, rules: str = "") -> str:
    """The content key of the snapshot of ``universe`` on ``as_of``: ``<date>-<digest>``.

    ``rules`` names whatever else decides the content (the provider, the stale threshold), so a
    deployment that changes them gets a new snapshot rather than a wrong one."""
    digest = hashlib.sha256(("|".join(sorted(universe)) + "#" + rules).encode()).hexdigest()[:16]
    return f"{as_of.isoformat()}-{digest}"


def snapshot_key(snapshot: str, part: str) -> str:
    """The KV key of one part of a snapshot (``<snapshot_id>.prices``, ``<snapshot_id>.analysis``)."""
    return f"{snapshot}.{part}"


class SnapshotPrices(Value, frozen=True, kw_only=True):
    """Every symbol's quote on ``as_of`` (the universe: each security of the master that has data then)."""

    snapshot_id: str
    as_of: date
    symbols: list[str]
    quotes: dict[str, Quote]
    warnings: dict[str, str] = msgspec.field(default_factory=dict)
    """Stale quotes: symbol -> what is wrong (reports name only the symbols a run holds or trades)."""

    def prices(self) -> dict[str, Decimal]:
        """The actual close of every symbol (dollars per share)."""
        return {symbol: quote.close for symbol, quote in self.quotes.items()}


class SnapshotAnalysis(Value, frozen=True, kw_only=True):
    """The regime on ``as_of`` and the Ledoit-Wolf covariance (annualized) of the universe's daily total
    returns over the risk window (symbols without the whole window are left out)."""

    snapshot_id: str
    as_of: date
    conditions: MarketConditions
    symbols: list[str] = msgspec.field(default_factory=list)
    covariance: list[list[float]] = msgspec.field(default_factory=list)
    start: date | None = None
    end: date | None = None
    observations: int = 0
