"""The trade blotter: one CSV row per planned trade, in a layout an order system loads."""

from __future__ import annotations

import csv
import io
from typing import Final

from contracts import Report, ReportAction

__all__ = ["BLOTTER_COLUMNS", "blotter_csv"]

BLOTTER_COLUMNS: Final = (
    "account",
    "symbol",
    "side",
    "shares",
    "estimated_price",
    "estimated_value",
    "asset_class",
    "lots",
    "reason",
)


def _lots(action: ReportAction) -> str:
    """``lot-id:shares`` for each lot a sell relieves, separated by ``;`` (empty for a buy)."""
    return ";".join(f"{lot.lot_id}:{lot.shares}" for lot in action.lots)


def blotter_csv(report: Report) -> str:
    """The report's trades as CSV (header first; sells before buys, as they execute). Prices and values
    are the plan's estimates at the run's closes, as exact decimal strings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BLOTTER_COLUMNS)
    ordered = sorted(report.actions, key=lambda a: (a.action != "sell", a.symbol))
    for action in ordered:
        writer.writerow(
            [
                report.account_id,
                action.symbol,
                action.action,
                str(action.shares),
                str(action.price),
                str(action.estimated_value),
                action.asset_class,
                _lots(action),
                action.reason,
            ]
        )
    return out.getvalue()
