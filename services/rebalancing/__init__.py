"""The rebalancing service: drift and trade planning (heuristic and tax-aware optimizer).

The pure domain code lives in :mod:`services.rebalancing.domain`; see ``README.md`` beside this file.
"""

from __future__ import annotations

__all__: list[str] = []
