"""Small builders for rebalancing tests (prices fixed in the test, not from the shipped history)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.rebalancing.domain import (
    AccountSnapshot,
    PlanOptions,
    RebalancePlan,
    TaxInputs,
    TaxLot,
    plan_rebalance,
)

AS_OF = date(2026, 5, 1)
PRICES = {
    "VTI": Decimal("300"),
    "ITOT": Decimal("120"),
    "VEA": Decimal("50"),
    "IVV": Decimal("600"),
    "VOO": Decimal("550"),
    "BND": Decimal("75"),
    "AGG": Decimal("100"),
    "VNQ": Decimal("90"),
    "SCHH": Decimal("20"),
    "GLD": Decimal("400"),
    "IAU": Decimal("80"),
    "BIL": Decimal("91"),
}
TAX = TaxInputs(short_term_rate=Decimal("0.37"), long_term_rate=Decimal("0.15"))
TARGET = {"equity": Decimal(60), "bond": Decimal(30), "reit": Decimal(10)}


def lot(lot_id: str, symbol: str, shares: int | str, basis_per_share: int | str, acquired: str) -> TaxLot:
    sh = Decimal(shares)
    return TaxLot(
        lot_id=lot_id,
        symbol=symbol,
        shares=sh,
        cost_basis=sh * Decimal(basis_per_share),
        acquired=date.fromisoformat(acquired),
    )


def account(
    *lots: TaxLot, cash: int | str = 0, target: dict[str, Decimal] | None = None, **kw: object
) -> AccountSnapshot:
    return AccountSnapshot(
        account_id="t",
        taxable=bool(kw.pop("taxable", True)),
        cash=Decimal(cash),
        lots=tuple(lots),
        target=target or TARGET,
        **kw,  # type: ignore[arg-type]
    )


def plan(acct: AccountSnapshot, tax: TaxInputs | None = TAX, **options: object) -> RebalancePlan:
    return plan_rebalance(acct, PRICES, as_of=AS_OF, options=PlanOptions(**options), tax=tax)  # type: ignore[arg-type]


def equity_heavy() -> AccountSnapshot:
    """80/15/5 with embedded gains, a loss and a short-term lot."""
    return account(
        lot("vti-old", "VTI", 100, 150, "2020-01-02"),  # LT gain 150/sh
        lot("vti-new", "VTI", 40, 280, "2026-01-05"),  # ST gain 20/sh
        lot("vti-loss", "VTI", 20, 320, "2025-11-03"),  # ST loss
        lot("vea-1", "VEA", 200, 45, "2021-06-01"),  # LT gain 5/sh
        lot("bnd-1", "BND", 100, 80, "2022-03-01"),  # loss
        lot("vnq-1", "VNQ", 40, 70, "2023-01-01"),
        cash=1000,
    )


def trades_by(p: RebalancePlan) -> dict[tuple[str, str], Decimal]:
    return {(t.symbol, t.action.value): t.shares for t in p.trades}
