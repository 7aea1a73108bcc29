"""Realized gains by tax year: the ``rebalance tax realized`` computation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shared.holding_period import Term
from shared.lot_ledger.accounts import AccountPolicy, LotMethod
from shared.lot_ledger.ledger import replay
from shared.lot_ledger.lots import Lot
from shared.lot_ledger.sales import Sale, WashMatch
from shared.lot_ledger.transactions import Transaction
from shared.money import ZERO, cents
from shared.securities import SecurityMaster, default_securities

from .netting import YearSummary, net_years
from .tables import FilingStatus, available_years, tax_table

__all__ = ["RealizedResult", "compute_realized"]


def _money(value: Decimal) -> str:
    return str(cents(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class RealizedResult:
    """``sales``: taxable sales only (one per lot relieved), in sale order. ``non_taxable_sales``: lots
    relieved inside IRAs (not taxable events, listed for the ledger). ``open_lots``: lots still held.
    ``years``: per tax year, first to last year with a taxable sale."""

    sales: tuple[Sale, ...]
    non_taxable_sales: tuple[Sale, ...]
    open_lots: tuple[Lot, ...]
    matches: tuple[WashMatch, ...]
    years: tuple[YearSummary, ...]

    @property
    def total_disallowed(self) -> Decimal:
        return sum((s.wash_sale_disallowed for s in self.sales), ZERO)

    @property
    def total_permanently_disallowed(self) -> Decimal:
        """The part of :attr:`total_disallowed` replaced inside IRAs: lost for good, in no lot's basis."""
        return sum((s.permanently_disallowed for s in self.sales), ZERO)

    def to_json_dict(self) -> dict[str, object]:
        """The CLI's JSON shape; amounts are decimal strings rounded to cents."""
        return {
            "sales": [
                {
                    "date": s.sale_date.isoformat(),
                    "account": s.account_id,
                    "symbol": s.symbol,
                    "lot_id": s.lot_id,
                    "shares": str(s.shares),
                    "acquired": s.acquired.isoformat(),
                    "proceeds": _money(s.proceeds),
                    "cost_basis": _money(s.cost_basis),
                    "wash_sale_disallowed": _money(s.wash_sale_disallowed),
                    "permanently_disallowed": _money(s.permanently_disallowed),
                    "gain": _money(s.gain),
                    "term": s.term.value,
                    "code": s.code,
                }
                for s in self.sales
            ],
            "lots": [
                {
                    "account": lot.account_id,
                    "lot_id": lot.lot_id,
                    "symbol": lot.symbol,
                    "shares": str(lot.shares),
                    "acquired": lot.acquired.isoformat(),
                    "holding_period_start": lot.holding_start.isoformat(),
                    "cost_basis": _money(lot.adjusted_basis),
                    "wash_sale_adjustment": _money(lot.wash_sale_adjustment),
                }
                for lot in self.open_lots
            ],
            "years": {
                str(y.year): {
                    "short_term": _money(y.short_term),
                    "long_term": _money(y.long_term),
                    "disallowed": _money(y.disallowed),
                    "permanently_disallowed": _money(
                        sum((s.permanently_disallowed for s in self.sales if s.sale_date.year == y.year), ZERO)
                    ),
                    "deductible_loss": _money(y.deductible_loss),
                    "carryforward": _money(y.carryforward),
                    "carryforward_short_term": _money(y.carryforward_short_term),
                    "carryforward_long_term": _money(y.carryforward_long_term),
                }
                for y in self.years
            },
        }


def compute_realized(
    transactions: Iterable[Transaction],
    *,
    method: LotMethod = LotMethod.FIFO,
    securities: SecurityMaster | None = None,
    filing_status: FilingStatus = FilingStatus.SINGLE,
    accounts: Iterable[AccountPolicy] = (),
) -> RealizedResult:
    """Replay ``transactions`` (any order) and total the taxable sales by tax year.

    The $3,000 / $1,500 loss limit comes from the year's tax table (the nearest one for years without a
    table; the limit is the same in every year since 1978).
    """
    ledger = replay(transactions, securities=securities or default_securities(), method=method, accounts=accounts)
    taxable = tuple(s for s in ledger.sales if s.taxable)
    by_year: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    for sale in taxable:
        st, lt, disallowed = by_year.get(sale.sale_date.year, (ZERO, ZERO, ZERO))
        if sale.term is Term.SHORT:
            st += sale.gain
        else:
            lt += sale.gain
        by_year[sale.sale_date.year] = (st, lt, disallowed + sale.wash_sale_disallowed)
    limits = (
        {
            year: tax_table(year, nearest=True).loss_limit(filing_status)
            for year in range(min(by_year), max(by_year) + 1)
        }
        if by_year and available_years()
        else Decimal(3000)
    )
    return RealizedResult(
        sales=taxable,
        non_taxable_sales=tuple(s for s in ledger.sales if not s.taxable),
        open_lots=ledger.open_lots,
        matches=ledger.matches,
        years=tuple(net_years(by_year, loss_limit=limits)),
    )
