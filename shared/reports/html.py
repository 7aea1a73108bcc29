"""The run report as one self-contained HTML page: inline CSS, inline SVG charts drawn on the server, no
external asset (it opens offline and survives being mailed)."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from contracts import Report, ReportAction
from shared.reports.charts import allocation_chart, drift_chart
from shared.reports.tax_figures import TaxFigures, tax_figures

__all__ = ["render_report_html"]

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;
padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;
padding-bottom:4px}
.meta{color:#5a6475;font-size:13px}.facts{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0}
.fact{background:#f3f6fa;border-radius:6px;padding:8px 12px;min-width:130px}
.fact b{display:block;font-size:18px}.fact span{font-size:12px;color:#5a6475}
.charts{display:flex;flex-wrap:wrap;gap:24px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;border-bottom:1px solid #e6e9ef;
text-align:left;vertical-align:top}th{background:#f3f6fa}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums}.sell{color:#b3401d;font-weight:600}.buy{color:#1a7a52;font-weight:600}
.missing{color:#8a93a3}ul{margin:4px 0;padding-left:20px}.lots{font-size:12px;color:#4a5466}
"""

_MARK_DRAWN = """
(function(){var drawn=0,expected=0;document.querySelectorAll('svg.chart rect.bar').forEach(function(r){
if(Number(r.getAttribute('data-value'))!==0){expected++;var b=r.getBoundingClientRect();
if(b.width>0&&b.height>0){drawn++;}}});document.body.setAttribute('data-bars-drawn',String(drawn));
document.body.setAttribute('data-bars-expected',String(expected));})();
"""
"""Marks on ``<body>`` how many chart bars the browser laid out with a size (a headless check reads it)."""


def _money(value: Decimal | None) -> str:
    if value is None:
        return "<span class='missing'>not reported</span>"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _fact(label: str, value: str) -> str:
    return f"<div class='fact'><b>{value}</b><span>{escape(label)}</span></div>"


def _lots_cell(action: ReportAction) -> str:
    if not action.lots:
        return ""
    items = [
        f"{escape(lot.lot_id)}: {lot.shares} sh, {lot.holding_period}-term {_money(lot.gain_loss)}"
        for lot in action.lots
    ]
    return "<div class='lots'>" + "<br>".join(items) + "</div>"


def _trade_rows(report: Report) -> str:
    rows = []
    for action in sorted(report.actions, key=lambda a: (a.action != "sell", a.symbol)):
        tax = action.tax_implication
        rows.append(
            "<tr class='trade'>"
            f"<td class='{action.action}'>{action.action}</td><td>{escape(action.symbol)}</td>"
            f"<td class='num'>{action.shares}</td><td class='num'>{_money(action.price)}</td>"
            f"<td class='num'>{_money(action.estimated_value)}</td><td>{escape(action.asset_class)}</td>"
            f"<td>{_lots_cell(action)}</td>"
            f"<td class='num'>{_money(tax.tax_liability) if tax else ''}</td>"
            f"<td>{escape(action.reason)}</td></tr>"
        )
    if not rows:
        rows.append("<tr><td colspan='9' class='missing'>no trades</td></tr>")
    return "".join(rows)


def _tax_table(figures: TaxFigures) -> str:
    rows = [
        ("Realized short-term gain", figures.realized_short_term),
        ("Realized long-term gain", figures.realized_long_term),
        ("Losses harvested", figures.harvested_losses),
        ("Loss disallowed by wash sales", figures.disallowed),
        ("… of which permanently disallowed", figures.permanently_disallowed),
        ("Estimated tax of the plan", figures.estimated_tax),
    ]
    body = "".join(f"<tr><td>{escape(label)}</td><td class='num'>{_money(value)}</td></tr>" for label, value in rows)
    return f"<table class='tax-summary'>{body}</table>"


def _list(items: list[str]) -> str:
    if not items:
        return "<p class='missing'>none</p>"
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def render_report_html(report: Report) -> str:
    """The page for one run's report."""
    conditions = report.analysis.market_conditions
    execution = report.execution
    if execution.executed:
        outcome = f"executed {len(execution.trades)} trades"
    elif execution.dry_run:
        outcome = f"dry run: {len(execution.simulated_trades)} trades simulated"
    else:
        outcome = "not traded"
    tax = report.analysis.tax_optimization
    findings = list(tax.wash_sale_findings) if tax else []
    title = f"Rebalancing report: {report.account_id}"
    facts = "".join(
        [
            _fact("portfolio value", _money(report.portfolio_value)),
            _fact("needs rebalancing", "yes" if report.analysis.needs_rebalancing else "no"),
            _fact("trades", str(len(report.actions))),
            _fact("outcome", escape(outcome)),
            _fact("estimated tax", _money(report.estimated_tax)),
            _fact("estimated costs", _money(report.estimated_costs)),
            _fact("market", escape(f"{conditions.market_sentiment}, VIX {conditions.volatility_index:.2f}")),
        ]
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<div class='meta'>run {escape(report.run_id)} · as of {report.as_of or ''} · "
        f"generated {report.timestamp.isoformat()} · solver {escape(report.solver)}</div>"
        f"<div class='facts'>{facts}</div>"
        f"<p><b>Decision:</b> {escape(report.analysis.decision or 'none recorded')}</p>"
        "<h2>Allocation</h2><div class='charts'>"
        f"<figure><figcaption>Before, target and after (% of the account)</figcaption>"
        f"{allocation_chart(report.allocation_before, report.target_allocation, report.allocation_after)}</figure>"
        f"<figure><figcaption>Drift from target (points)</figcaption>"
        f"{drift_chart(report.allocation_before, report.target_allocation, report.allocation_after)}</figure>"
        "</div>"
        f"<h2>Tax</h2>{_tax_table(tax_figures(report))}"
        f"<h3>Wash-sale findings</h3>{_list(findings)}"
        "<h2>Trades</h2><table class='trades'><thead><tr><th>side</th><th>symbol</th><th class='num'>shares</th>"
        "<th class='num'>est. price</th><th class='num'>est. value</th><th>asset class</th><th>lots sold</th>"
        "<th class='num'>est. tax</th><th>reason</th></tr></thead>"
        f"<tbody>{_trade_rows(report)}</tbody></table>"
        f"<h2>Recommendations</h2>{_list(list(report.recommendations))}"
        f"<h2>Warnings</h2>{_list(list(report.warnings))}"
        f"<h2>Execution errors</h2>{_list(list(execution.errors))}"
        f"<script>{_MARK_DRAWN}</script>"
        "</body></html>"
    )
