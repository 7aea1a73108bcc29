"""Run reports as people read them: a self-contained HTML page (inline SVG charts, no external asset)
and a CSV trade blotter. Pure functions of a :class:`contracts.Report`; the gateway serves them and the
notifications service mails the page."""

from shared.reports.blotter import BLOTTER_COLUMNS, blotter_csv
from shared.reports.charts import allocation_chart, drift_chart
from shared.reports.html import render_report_html
from shared.reports.tax_figures import TaxFigures, tax_figures

__all__ = [
    "BLOTTER_COLUMNS",
    "TaxFigures",
    "allocation_chart",
    "blotter_csv",
    "drift_chart",
    "render_report_html",
    "tax_figures",
]
