"""Inline SVG charts of a run report, drawn on the server (no script, no external asset).

Every bar is a ``<rect class="bar">`` carrying ``data-series``, ``data-asset-class`` and ``data-value``
(percentage points), so a test or a scraper can read the chart back.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from html import escape
from typing import Final

__all__ = ["SERIES_COLORS", "allocation_chart", "drift_chart"]

SERIES_COLORS: Final = {
    "before": "#8c96a8",
    "target": "#2f6fdf",
    "after": "#1a9e6a",
    "drift-before": "#d9822b",
    "drift-after": "#1a9e6a",
}
_LABEL_WIDTH = 90
_BAR_AREA = 420
_VALUE_WIDTH = 70
_BAR_HEIGHT = 14
_BAR_GAP = 3
_GROUP_GAP = 14
_TOP = 30
_FONT = "font-family='system-ui, sans-serif' font-size='12'"


def _classes(*allocations: Mapping[str, Decimal]) -> list[str]:
    return sorted({name for allocation in allocations for name in allocation})


def _legend(series: list[tuple[str, str]]) -> str:
    parts = []
    x = _LABEL_WIDTH
    for key, label in series:
        parts.append(f"<rect x='{x}' y='6' width='12' height='12' fill='{SERIES_COLORS[key]}'/>")
        parts.append(f"<text x='{x + 16}' y='16' {_FONT}>{escape(label)}</text>")
        x += 16 + 8 * len(label) + 18
    return "".join(parts)


def _pct(value: Decimal) -> str:
    return f"{value:.2f}%"


def allocation_chart(before: Mapping[str, Decimal], target: Mapping[str, Decimal], after: Mapping[str, Decimal]) -> str:
    """Grouped horizontal bars: for each asset class, its weight before the trades, the target and after
    (percent of the account). Bars are scaled to the largest weight shown."""
    names = _classes(before, target, after)
    series = [("before", "before", before), ("target", "target", target), ("after", "after", after)]
    largest = max([Decimal(1), *(Decimal(v) for _, _, a in series for v in a.values())])
    group = 3 * _BAR_HEIGHT + 2 * _BAR_GAP
    height = _TOP + len(names) * (group + _GROUP_GAP) + 4
    width = _LABEL_WIDTH + _BAR_AREA + _VALUE_WIDTH
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart allocation-chart' role='img' "
        f"aria-label='allocation before, target and after' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>",
        _legend([("before", "before"), ("target", "target"), ("after", "after")]),
    ]
    for row, name in enumerate(names):
        y0 = _TOP + row * (group + _GROUP_GAP)
        parts.append(
            f"<text x='{_LABEL_WIDTH - 8}' y='{y0 + group / 2 + 4:.1f}' text-anchor='end' {_FONT}>{escape(name)}</text>"
        )
        for index, (key, _label, allocation) in enumerate(series):
            value = Decimal(allocation.get(name, Decimal(0)))
            y = y0 + index * (_BAR_HEIGHT + _BAR_GAP)
            length = float(max(value, Decimal(0)) / largest) * _BAR_AREA
            parts.append(
                f"<rect class='bar' data-series='{key}' data-asset-class='{escape(name)}' data-value='{value}' "
                f"x='{_LABEL_WIDTH}' y='{y}' width='{length:.2f}' height='{_BAR_HEIGHT}' "
                f"fill='{SERIES_COLORS[key]}'><title>{escape(name)} {key}: {_pct(value)}</title></rect>"
            )
            parts.append(
                f"<text x='{_LABEL_WIDTH + length + 4:.2f}' y='{y + _BAR_HEIGHT - 3}' {_FONT}>{_pct(value)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def drift_chart(before: Mapping[str, Decimal], target: Mapping[str, Decimal], after: Mapping[str, Decimal]) -> str:
    """Diverging bars of each asset class's drift from target (points; right of the axis is over
    target), before and after the trades."""
    names = _classes(before, target, after)
    drifts = {
        name: (
            Decimal(before.get(name, Decimal(0))) - Decimal(target.get(name, Decimal(0))),
            Decimal(after.get(name, Decimal(0))) - Decimal(target.get(name, Decimal(0))),
        )
        for name in names
    }
    largest = max([Decimal(1), *(abs(d) for pair in drifts.values() for d in pair)])
    half = _BAR_AREA / 2
    axis = _LABEL_WIDTH + half
    group = 2 * _BAR_HEIGHT + _BAR_GAP
    height = _TOP + len(names) * (group + _GROUP_GAP) + 4
    width = _LABEL_WIDTH + _BAR_AREA + _VALUE_WIDTH
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart drift-chart' role='img' "
        f"aria-label='drift from target before and after' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>",
        _legend([("drift-before", "drift before"), ("drift-after", "drift after")]),
        f"<line x1='{axis}' y1='{_TOP - 4}' x2='{axis}' y2='{height - 2}' stroke='#444' stroke-width='1'/>",
    ]
    for row, name in enumerate(names):
        y0 = _TOP + row * (group + _GROUP_GAP)
        parts.append(
            f"<text x='{_LABEL_WIDTH - 8}' y='{y0 + group / 2 + 4:.1f}' text-anchor='end' {_FONT}>{escape(name)}</text>"
        )
        for index, (key, value) in enumerate(zip(("drift-before", "drift-after"), drifts[name], strict=True)):
            y = y0 + index * (_BAR_HEIGHT + _BAR_GAP)
            length = float(abs(value) / largest) * (half - _VALUE_WIDTH / 2)
            x = axis if value >= 0 else axis - length
            label_x = axis + length + 4 if value >= 0 else axis - length - 4
            anchor = "start" if value >= 0 else "end"
            parts.append(
                f"<rect class='bar' data-series='{key}' data-asset-class='{escape(name)}' data-value='{value}' "
                f"x='{x:.2f}' y='{y}' width='{length:.2f}' height='{_BAR_HEIGHT}' fill='{SERIES_COLORS[key]}'>"
                f"<title>{escape(name)} {key}: {value:+.2f} pts</title></rect>"
            )
            parts.append(
                f"<text x='{label_x:.2f}' y='{y + _BAR_HEIGHT - 3}' text-anchor='{anchor}' {_FONT}>{value:+.2f}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
