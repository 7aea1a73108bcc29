"""Form 8949 rows from the ledger's sales: one row per sale, as a person types it into tax software.

A sale is every lot relieved by selling one security in one account on one date (one order, however
many fills), split only where the form needs separate rows: by Part (I short-term, II long-term) and by
box (A/D when basis is reported to the IRS, i.e. covered; B/E when not). Columns follow the form:
(a) description "<shares> sh. <symbol>", (b) date acquired (``VARIOUS`` when the row draws lots of
several dates), (c) date sold, (d) proceeds, (e) cost basis, (f) code ``W`` for a wash sale, (g) the
adjustment (the disallowed loss, positive), (h) gain or loss = d - e + g. ``permanently_disallowed`` is the
part of (g) replaced inside an IRA, which no lot's basis will ever recover; it is not a form column.

Covered: a fund share acquired on or after 2012-01-01 (Treas. Reg. §1.6045-1(a)(15): stock of a
regulated investment company); earlier lots are noncovered.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.holding_period import Term
from shared.money import ZERO, cents

from .sales import Sale

__all__ = ["COVERED_SINCE", "FORM_8949_COLUMNS", "Form8949Row", "form8949_csv", "form8949_rows"]

COVERED_SINCE = date(2012, 1, 1)
FORM_8949_COLUMNS = (
    "part",
    "box",
    "description",
    "date_acquired",
    "date_sold",
    "proceeds",
    "cost_basis",
    "code",
    "adjustment",
    "gain_or_loss",
    "permanently_disallowed",
    "account",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Form8949Row:
    part: str
    box: str
    account_id: str
    symbol: str
    shares: Decimal
    acquired: date | None
    """None when the row draws lots of several acquisition dates (``VARIOUS``)."""
    sold: date
    proceeds: Decimal
    cost_basis: Decimal
    adjustment: Decimal
    permanently_disallowed: Decimal

    @property
    def code(self) -> str:
        return "W" if self.adjustment > 0 else ""

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost_basis + self.adjustment

    @property
    def description(self) -> str:
        return f"{self.shares.normalize():f} sh. {self.symbol}"

    def cells(self) -> list[str]:
        return [
            self.part,
            self.box,
            self.description,
            _date(self.acquired) if self.acquired else "VARIOUS",
            _date(self.sold),
            str(cents(self.proceeds)),
            str(cents(self.cost_basis)),
            self.code,
            str(cents(self.adjustment)) if self.adjustment else "",
            str(cents(self.gain)),
            str(cents(self.permanently_disallowed)),
            self.account_id,
        ]


def _date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _box(term: Term, covered: bool) -> tuple[str, str]:
    if term is Term.SHORT:
        return "I", "A" if covered else "B"
    return "II", "D" if covered else "E"


def form8949_rows(sales: Iterable[Sale], *, year: int | None = None) -> list[Form8949Row]:
    """The rows of the taxable ``sales`` (of ``year`` when given), Part I then Part II, each by date sold."""
    groups: dict[tuple[str, str, date, str, str], list[Sale]] = {}
    for sale in sales:
        if not sale.taxable or (year is not None and sale.sale_date.year != year):
            continue
        part, box = _box(sale.term, sale.acquired >= COVERED_SINCE)
        groups.setdefault((part, box, sale.sale_date, sale.account_id, sale.symbol), []).append(sale)
    rows = []
    for (part, box, sold, account_id, symbol), group in sorted(groups.items(), key=lambda item: item[0]):
        dates = {s.acquired for s in group}
        rows.append(
            Form8949Row(
                part=part,
                box=box,
                account_id=account_id,
                symbol=symbol,
                shares=sum((s.shares for s in group), ZERO),
                acquired=next(iter(dates)) if len(dates) == 1 else None,
                sold=sold,
                proceeds=sum((s.proceeds for s in group), ZERO),
                cost_basis=sum((s.cost_basis for s in group), ZERO),
                adjustment=sum((s.wash_sale_disallowed for s in group), ZERO),
                permanently_disallowed=sum((s.permanently_disallowed for s in group), ZERO),
            )
        )
    return rows


def form8949_csv(rows: Iterable[Form8949Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FORM_8949_COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return out.getvalue()
