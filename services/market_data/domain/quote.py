"""The :class:`Quote` value object: one symbol's actual close as of a date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["PERCENT_QUANTUM", "Quote", "make_quote"]

PERCENT_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """A close price as of ``as_of``.

    - ``date``: the trading day whose close this is (latest at or before ``as_of``).
    - ``close``: the actual traded close of ``date`` (``close_unadj``: split- but not
      dividend-adjusted), in dollars per share; positions are valued and traded at it.
    - ``previous_date`` / ``previous_close``: the trading day before ``date`` and its close.
    - ``change``: ``close - previous_close`` in dollars; ``change_percent``: ``100 * change /
      previous_close``, rounded half-even to 4 decimals (percent units, ``-1.2345`` = -1.2345%).
      A dividend ex-date shows as a fall here; total return belongs to ``adjusted_close``.
    - ``adjusted_close``: the total-return (dividend-adjusted) close of ``date``.
    - ``age_trading_days``: NYSE sessions in ``(date, as_of]``; ``stale`` when it exceeds the
      provider's ``stale_after_trading_days``.
    """

    symbol: str
    as_of: dt.date
    date: dt.date
    close: Decimal
    previous_date: dt.date
    previous_close: Decimal
    change: Decimal
    change_percent: Decimal
    adjusted_close: Decimal
    age_trading_days: int
    stale: bool
    source: str = "file"

    def to_json_dict(self) -> dict[str, Any]:
        """Decimals as strings, dates as ISO strings."""
        return {
            "symbol": self.symbol,
            "as_of": self.as_of.isoformat(),
            "date": self.date.isoformat(),
            "close": str(self.close),
            "previous_date": self.previous_date.isoformat(),
            "previous_close": str(self.previous_close),
            "change": str(self.change),
            "change_percent": str(self.change_percent),
            "adjusted_close": str(self.adjusted_close),
            "age_trading_days": self.age_trading_days,
            "stale": self.stale,
            "source": self.source,
        }


def make_quote(
    *,
    symbol: str,
    as_of: dt.date,
    date: dt.date,
    close: Decimal,
    previous_date: dt.date,
    previous_close: Decimal,
    adjusted_close: Decimal,
    age_trading_days: int,
    stale_after_trading_days: int,
    source: str,
) -> Quote:
    """Build a :class:`Quote`, deriving ``change``, ``change_percent`` and ``stale``."""
    change = close - previous_close
    pct = (Decimal(100) * change / previous_close).quantize(PERCENT_QUANTUM)
    return Quote(
        symbol=symbol,
        as_of=as_of,
        date=date,
        close=close,
        previous_date=previous_date,
        previous_close=previous_close,
        change=change,
        change_percent=pct,
        adjusted_close=adjusted_close,
        age_trading_days=age_trading_days,
        stale=age_trading_days > stale_after_trading_days,
        source=source,
    )
