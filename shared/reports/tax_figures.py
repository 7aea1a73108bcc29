"""The tax summary of a run report: realized short- and long-term gain, losses harvested, the loss a
wash sale disallows and the part of it lost for good (replacement bought in an IRA)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from contracts import Report
from shared.money import ZERO, cents

__all__ = ["TaxFigures", "tax_figures"]


@dataclass(frozen=True, slots=True)
class TaxFigures:
    """Dollars; ``None`` where the report does not carry the figure."""

    realized_short_term: Decimal
    realized_long_term: Decimal
    harvested_losses: Decimal
    estimated_tax: Decimal
    disallowed: Decimal | None
    permanently_disallowed: Decimal | None


def _optional(summary: object, *names: str) -> Decimal | None:
    """The first of ``names`` the tax summary carries (fields added to the report later are read here)."""
    for name in names:
        value = getattr(summary, name, None)
        if value is not None:
            return cents(Decimal(value))
    return None


def tax_figures(report: Report) -> TaxFigures:
    """Realized gains by term and harvested losses are summed from the lots each sell relieves (so they
    agree with the trade table); disallowed and permanent amounts come from the report's tax section
    (``disallowed``/``washSaleDisallowed``, ``permanentlyDisallowed``) when it has them."""
    short = long = harvested = ZERO
    for action in report.actions:
        if action.action != "sell":
            continue
        for lot in action.lots:
            if lot.holding_period == "short":
                short += lot.gain_loss
            else:
                long += lot.gain_loss
            if lot.gain_loss < 0:
                harvested += -lot.gain_loss
    summary = report.analysis.tax_optimization
    return TaxFigures(
        realized_short_term=cents(short),
        realized_long_term=cents(long),
        harvested_losses=cents(harvested),
        estimated_tax=cents(report.estimated_tax),
        disallowed=_optional(summary, "disallowed", "wash_sale_disallowed", "disallowed_loss"),
        permanently_disallowed=_optional(summary, "permanently_disallowed"),
    )
