"""Reading the shipped price and index CSVs (``shared/data/market``) into typed series.

``prices/<T>.csv`` is ``date,close,dividends,close_unadj`` (``close`` = adjusted close);
``indices/<NAME>.csv`` is ``date,close``. Price strings are kept verbatim so quotes are exact
Decimals; the adjusted close is also parsed to float for return panels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MARKET_DIR",
    "IndexSeries",
    "PriceSeries",
    "last_csv_date",
    "read_index_csv",
    "read_price_csv",
]

DEFAULT_MARKET_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """One symbol's history, ascending by date."""

    symbol: str
    dates: pd.DatetimeIndex
    adj_close: np.ndarray  # float64, adjusted close (total return)
    adj_close_text: list[str]  # the CSV text of ``close``
    close_unadj_text: list[str]  # the CSV text of ``close_unadj`` (actual traded close)

    @property
    def first(self) -> dt.date:
        return self.dates[0].date()

    @property
    def last(self) -> dt.date:
        return self.dates[-1].date()

    def position_at_or_before(self, day: dt.date) -> int:
        """Index of the latest row dated ``<= day``; -1 when ``day`` precedes the first row."""
        return int(self.dates.searchsorted(pd.Timestamp(day), side="right")) - 1


@dataclass(frozen=True, slots=True)
class IndexSeries:
    name: str
    values: pd.Series  # float, DatetimeIndex named "date"

    @property
    def first(self) -> dt.date:
        return self.values.index[0].date()

    @property
    def last(self) -> dt.date:
        return self.values.index[-1].date()


def read_price_csv(path: Path, symbol: str) -> PriceSeries:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"date", "close", "close_unadj"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    dates = pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d"), name="date")
    if not dates.is_monotonic_increasing or dates.has_duplicates:
        raise ValueError(f"{path}: dates are not strictly ascending")
    return PriceSeries(
        symbol=symbol,
        dates=dates,
        adj_close=raw["close"].astype(float).to_numpy(),
        adj_close_text=raw["close"].tolist(),
        close_unadj_text=raw["close_unadj"].tolist(),
    )


def read_index_csv(path: Path, name: str) -> IndexSeries:
    raw = pd.read_csv(path)
    idx = pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d"), name="date")
    return IndexSeries(name=name, values=pd.Series(raw["close"].astype(float).to_numpy(), index=idx, name=name))


def last_csv_date(path: Path) -> dt.date:
    """The date of the last row, read from the file's tail (no full parse)."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 512))
        tail = fh.read().decode("utf-8").strip().splitlines()[-1]
    return dt.date.fromisoformat(tail.split(",", 1)[0])
