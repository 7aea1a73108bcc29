"""The HTML report and the trade blotter, read back without a browser: the SVG charts parse as XML and
their bars measure the report's figures; the tax summary sums the lots; the CSV round-trips."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from shared.reports import BLOTTER_COLUMNS, blotter_csv, render_report_html, tax_figures
from tests.unit.reports.sample import AFTER, BEFORE, TARGET, sample_report

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"


def _charts(page: str) -> dict[str, ET.Element]:
    found = {}
    for text in re.findall(r"<svg .*?</svg>", page, flags=re.S):
        root = ET.fromstring(text)
        found[root.attrib["class"].split()[-1]] = root
    return found


def _bars(svg: ET.Element) -> dict[tuple[str, str], tuple[float, float]]:
    """(series, asset class) -> (x, width) of each bar."""
    return {
        (r.attrib["data-series"], r.attrib["data-asset-class"]): (float(r.attrib["x"]), float(r.attrib["width"]))
        for r in svg.iter(f"{SVG}rect")
        if r.attrib.get("class") == "bar"
    }


def test_page_is_self_contained() -> None:
    page = render_report_html(sample_report())
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)  # no external asset
    assert "<link" not in page


def test_allocation_bars_measure_before_target_and_after() -> None:
    bars = _bars(_charts(render_report_html(sample_report()))["allocation-chart"])
    assert len(bars) == 3 * 4
    widths = {key: width for key, (_, width) in bars.items()}
    # Bars are proportional to the weights: equity's target (70, the largest) is the full bar.
    full = widths[("target", "equity")]
    assert full > 100
    for series, allocation in (("before", BEFORE), ("target", TARGET), ("after", AFTER)):
        for name, value in allocation.items():
            assert widths[(series, name)] == pytest_approx(full * float(value) / 70.0)


def pytest_approx(value: float) -> object:
    return pytest.approx(value, abs=0.01)


def test_drift_bars_point_the_way_of_the_drift() -> None:
    drift = _charts(render_report_html(sample_report()))["drift-chart"]
    axis = float(next(drift.iter(f"{SVG}line")).attrib["x1"])
    bars = _bars(drift)
    assert len(bars) == 2 * 4
    equity_x, equity_w = bars[("drift-before", "equity")]  # 66.13 - 70: under target, left of the axis
    assert equity_x + equity_w == pytest_approx(axis) and equity_w > 0
    bond_x, bond_w = bars[("drift-before", "bond")]  # 21.17 - 20: over target, right of the axis
    assert bond_x == pytest_approx(axis) and bond_w > 0
    reit_before = bars[("drift-before", "reit")][1]
    reit_after = bars[("drift-after", "reit")][1]
    assert reit_after < reit_before / 10  # the trades close the drift
    assert bars[("drift-after", "equity")][1] == 0


def test_tax_summary_sums_the_lots_sold() -> None:
    figures = tax_figures(sample_report())
    assert figures.realized_short_term == D("-30.00")
    assert figures.realized_long_term == D("13.41")
    assert figures.harvested_losses == D("30.00")
    assert figures.disallowed == 0 and figures.permanently_disallowed == 0  # the report's tax section
    page = render_report_html(sample_report())
    assert "-$30.00" in page and "$13.41" in page


def test_trade_table_has_every_trade_with_its_reason_escaped() -> None:
    page = render_report_html(sample_report())
    assert page.count("<tr class='trade'>") == 4
    assert "reit 3.1 pts under target &lt;b&gt;" in page
    assert "demo-vea-1: 3 sh, short-term -$30.00" in page


def test_blotter_lists_sells_first_with_lots_and_reasons() -> None:
    rows = list(csv.DictReader(io.StringIO(blotter_csv(sample_report()))))
    assert tuple(rows[0]) == BLOTTER_COLUMNS
    assert [(r["side"], r["symbol"]) for r in rows] == [
        ("sell", "BND"),
        ("sell", "VEA"),
        ("buy", "VNQ"),
        ("buy", "VTI"),
    ]
    vea = rows[1]
    assert vea == {
        "account": "demo",
        "symbol": "VEA",
        "side": "sell",
        "shares": "5",
        "estimated_price": "68.72",
        "estimated_value": "343.60",
        "asset_class": "equity",
        "lots": "demo-vea-1:3;demo-vea-2:2",
        "reason": "harvest a loss",
    }
    assert rows[0]["reason"] == 'bond 1.2 pts over target; sells lots demo-bnd-2, "long" first'
