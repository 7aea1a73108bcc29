"""Across the tax engine and the planner: a plan never creates a wash sale.

For random accounts and household histories, the run's path (tax context -> tax inputs -> plan ->
tax review) never buys a security whose recent loss sale the purchase would wash, and never sells at
a loss a security the same plan buys (or one substantially identical to it).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import AccountSnapshot, Lot, PlanOptions, TaxProfile, Transaction
from services.rebalancing.adapters import account_of, options_of, plan_to_contract, tax_inputs_of
from services.rebalancing.domain import CostModel, plan_rebalance
from services.tax.adapters import context_to_contract, profile_of, recent_of, tax_account_of, trades_of
from services.tax.domain import build_tax_context, evaluate_plan
from shared.securities import default_securities

AS_OF = date(2026, 5, 1)
SYMBOLS = ["VTI", "ITOT", "SPY", "IVV", "VOO", "BND", "AGG", "VNQ", "SCHH", "VEA"]
SECURITIES = default_securities()

lots = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.integers(min_value=1, max_value=300),  # shares
        st.integers(min_value=20, max_value=600),  # cost per share
        st.integers(min_value=5, max_value=2000),  # days held
    ),
    min_size=1,
    max_size=10,
)
recent = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.sampled_from(["buy", "sell"]),
        st.integers(min_value=0, max_value=30),  # days before the run
        st.booleans(),  # in the household's IRA
    ),
    max_size=5,
)
prices = st.fixed_dictionaries({s: st.integers(min_value=20, max_value=600) for s in SYMBOLS})
targets = st.sampled_from(
    [
        {"equity": Decimal(70), "bond": Decimal(20), "reit": Decimal(10), "cash": Decimal(0)},
        {"equity": Decimal(40), "bond": Decimal(50), "reit": Decimal(5), "cash": Decimal(5)},
        {"equity": Decimal(85), "bond": Decimal(10), "reit": Decimal(5), "cash": Decimal(0)},
    ]
)


@settings(max_examples=60, deadline=None)
@given(lots, recent, prices, targets, st.integers(min_value=0, max_value=20000))
def test_a_plan_never_creates_a_wash_sale(
    held: list[tuple[str, int, int, int]],
    activity: list[tuple[str, Literal["buy", "sell"], int, bool]],
    price_ints: dict[str, int],
    target: dict[str, Decimal],
    cash: int,
) -> None:
    account = AccountSnapshot(
        account_id="acct",
        household_id="hh",
        cash=Decimal(cash),
        lots=[
            Lot(lot_id=f"l{i}", symbol=s, shares=Decimal(n), cost_basis=Decimal(n * c),
                acquired=AS_OF - timedelta(days=d))
            for i, (s, n, c, d) in enumerate(held)
        ],
        target=target,
        tax_profile=TaxProfile(filing_status="single", taxable_income=Decimal(180000), magi=Decimal(180000)),
    )  # fmt: skip
    px = {s: Decimal(p) for s, p in price_ints.items()}
    household = [
        Transaction(
            account_id="ira" if ira else "other",
            account_type="traditional_ira" if ira else "taxable",
            date=AS_OF - timedelta(days=days),
            symbol=symbol,
            action=action,
            shares=Decimal(10),
            price=px[symbol],
            lot_id=f"h{n}",
            realized_gain=Decimal(-100) if action == "sell" else None,
        )
        for n, (symbol, action, days, ira) in enumerate(activity)
    ]
    context = build_tax_context(
        account=tax_account_of(account), prices=px, as_of=AS_OF, profile=profile_of(account.tax_profile),
        household_transactions=recent_of(household), securities=SECURITIES,
    )  # fmt: skip
    contract_context = context_to_contract(context)
    tax = tax_inputs_of(contract_context, account, AS_OF)
    options = options_of(PlanOptions(), account, costs=CostModel())
    plan = plan_rebalance(account_of(account), px, as_of=AS_OF, options=options, tax=tax, securities=SECURITIES)
    contract_plan = plan_to_contract(plan, account, px, tax, SECURITIES)
    sells, buys = trades_of(contract_plan.trades)
    evaluation = evaluate_plan(context, sells=sells, buys=buys, securities=SECURITIES)
    for finding in evaluation.wash_findings:
        assert not (finding.trade == "buy" and finding.washed), finding.message  # no buy washes a recent loss
        if finding.trade == "sell" and finding.washed:
            assert all("bought in this plan" not in c for c in finding.conflicts), finding.message
    bought_groups = {SECURITIES.identical_group(t.symbol) for t in contract_plan.trades if t.action == "buy"}
    sold_groups = {SECURITIES.identical_group(t.symbol) for t in contract_plan.trades if t.action == "sell"}
    assert not bought_groups & sold_groups  # never buys what it sells, nor its twin
