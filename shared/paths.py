"""Where the data shipped with the project lives."""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["DATA_DIR", "DEMO_HOUSEHOLD_FILE", "MARKET_DATA_DIR", "SECURITIES_FILE"]

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
MARKET_DATA_DIR: Final = DATA_DIR / "market"
SECURITIES_FILE: Final = DATA_DIR / "securities.csv"
DEMO_HOUSEHOLD_FILE: Final = DATA_DIR / "demo_household.json"
