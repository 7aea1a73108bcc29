"""Invariants of every plan, over generated accounts (hypothesis)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.rebalancing.domain import (
    AccountSnapshot,
    PlanOptions,
    RebalanceMode,
    RebalancePlan,
    TaxInputs,
    TaxLot,
    TradeAction,
    WithdrawalError,
    plan_rebalance,
)
from shared.holding_period import Term, term_of
from shared.securities import default_securities

from .helpers import AS_OF, PRICES

D = Decimal
SYMBOLS = ["VTI", "ITOT", "VEA", "IVV", "VOO", "BND", "AGG", "VNQ", "SCHH", "GLD", "BIL"]
DATES = [date(2019, 5, 1), date(2022, 8, 15), date(2025, 6, 2), date(2026, 2, 10)]
TARGETS = [
    {"equity": D(60), "bond": D(30), "reit": D(10)},
    {"equity": D(40), "bond": D(40), "reit": D(5), "commodity": D(10), "cash": D(5)},
    {"equity": D(80), "bond": D(15), "commodity": D(5)},
]
SETTINGS = settings(max_examples=50, deadline=None)

lot_st = st.tuples(
    st.sampled_from(SYMBOLS),
    st.integers(min_value=1, max_value=300),
    st.integers(min_value=5, max_value=700),
    st.sampled_from(DATES),
)


@st.composite
def accounts(draw: st.DrawFn) -> AccountSnapshot:
    raw = draw(st.lists(lot_st, min_size=1, max_size=14))
    lots = tuple(
        TaxLot(lot_id=f"l{i}", symbol=s, shares=D(n), cost_basis=D(n * b), acquired=d)
        for i, (s, n, b, d) in enumerate(raw)
    )
    return AccountSnapshot(
        account_id="p",
        taxable=True,
        cash=D(draw(st.integers(min_value=0, max_value=20000))),
        lots=lots,
        target=draw(st.sampled_from(TARGETS)),
        cash_reserve=D(draw(st.sampled_from([0, 500, 2000]))),
    )


option_st = st.builds(
    PlanOptions,
    method=st.sampled_from(["optimizer", "heuristic"]),
    exclude_symbols=st.sampled_from([frozenset(), frozenset({"VEA"}), frozenset({"BND", "GLD"})]),
    max_trade_amount=st.sampled_from([None, D(3000)]),
    min_trade=st.sampled_from([D(0), D(200)]),
)
tax_st = st.builds(
    TaxInputs,
    short_term_rate=st.just(D("0.37")),
    long_term_rate=st.just(D("0.15")),
    do_not_buy=st.sampled_from([frozenset(), frozenset({"VNQ"}), frozenset({"VTI", "AGG"})]),
)


def _plan(acct: AccountSnapshot, options: PlanOptions, tax: TaxInputs) -> RebalancePlan:
    return plan_rebalance(acct, PRICES, as_of=AS_OF, options=options, tax=tax)


@SETTINGS
@given(accounts(), option_st, tax_st)
def test_core_invariants(acct: AccountSnapshot, options: PlanOptions, tax: TaxInputs) -> None:
    p = _plan(acct, options, tax)
    lots = {lot.lot_id: lot for lot in acct.lots}
    sold: dict[str, Decimal] = {}
    for t in p.trades:
        assert t.shares > 0
        if t.action is TradeAction.SELL:
            assert sum(s.shares for s in t.lots) == t.shares
            for s in t.lots:
                sold[s.lot_id] = sold.get(s.lot_id, D(0)) + s.shares
    # never sells more than a lot holds
    assert all(sold[i] <= lots[i].shares for i in sold)
    # cash never below the reserve (when the account starts above it)
    if acct.cash >= acct.cash_reserve:
        assert p.cash_after >= acct.cash_reserve
    buys = {t.symbol for t in p.trades if t.action is TradeAction.BUY}
    sells = {t.symbol for t in p.trades if t.action is TradeAction.SELL}
    # never buys an excluded or do-not-buy symbol
    assert not buys & (options.exclude_symbols | tax.do_not_buy)
    assert not sells & options.exclude_symbols
    # never buys and sells one security (nor two substantially identical ones)
    sec = default_securities()
    assert not {sec.identical_group(s) for s in buys} & {sec.identical_group(s) for s in sells}
    # max trade and min trade
    for t in p.trades:
        assert options.max_trade_amount is None or t.value <= options.max_trade_amount
        assert t.value >= options.min_trade
    # lots go cheapest tax first: no lot is sold while a lot of the same security with a lower tax
    # cost per share stays unsold (every cap and budget trims the dearest end, so none forces it)
    for t in p.trades:
        if t.action is not TradeAction.SELL:
            continue
        for s in t.lots:
            for other in acct.lots:
                if other.symbol == t.symbol and _cost_per_share(other, tax) < _cost_per_share(lots[s.lot_id], tax):
                    assert sold.get(other.lot_id, D(0)) == other.shares, (t, other)


def _cost_per_share(lot: TaxLot, tax: TaxInputs) -> Decimal:
    gain = PRICES[lot.symbol] - lot.cost_basis / lot.shares
    rate = tax.long_term_rate if term_of(lot.acquired, AS_OF) is Term.LONG else tax.short_term_rate
    return gain * rate


@SETTINGS
@given(accounts(), st.sampled_from(["optimizer", "heuristic"]))
def test_drift_within_band_when_unconstrained(acct: AccountSnapshot, method: str) -> None:
    total = acct.cash + sum(lot.shares * PRICES[lot.symbol] for lot in acct.lots)
    if total < D(60000):  # whole shares of $600 funds are too coarse below this
        acct = AccountSnapshot(
            **{
                **{f: getattr(acct, f) for f in AccountSnapshot.__dataclass_fields__},
                "cash": acct.cash + D(60000),
            }
        )
    p = _plan(acct, PlanOptions(method=method), TaxInputs(short_term_rate=D("0.37"), long_term_rate=D("0.15")))
    target = {c: acct.target.get(c, D(0)) for c in p.after}
    assert all(abs(p.after[c] - target[c]) <= 5 for c in p.after), (p.after, p.solver, p.warnings)


@SETTINGS
@given(accounts(), st.randoms(use_true_random=False), st.sampled_from(["optimizer", "heuristic"]))
def test_independent_of_input_order(acct: AccountSnapshot, rnd, method: str) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(acct.lots)
    rnd.shuffle(shuffled)
    other = AccountSnapshot(
        **{**{f: getattr(acct, f) for f in AccountSnapshot.__dataclass_fields__}, "lots": tuple(shuffled)}
    )
    tax = TaxInputs(short_term_rate=D("0.37"), long_term_rate=D("0.15"))
    a = _plan(acct, PlanOptions(method=method), tax).to_json_dict()
    b = _plan(other, PlanOptions(method=method), tax).to_json_dict()
    assert a == b


@SETTINGS
@given(
    accounts(),
    st.integers(min_value=1, max_value=80_000),
    st.sampled_from([D(0), D(300)]),
    st.sampled_from([None, D(5), D(30)]),
)
def test_withdrawal_raised_in_full_or_refused(acct: AccountSnapshot, amount: int, min_trade: Decimal, cap) -> None:  # type: ignore[no-untyped-def]
    options = PlanOptions(
        mode=RebalanceMode.SELL_ONLY, withdraw_amount=D(amount), min_trade=min_trade, turnover_cap=cap
    )
    tax = TaxInputs(short_term_rate=D("0.37"), long_term_rate=D("0.15"))
    try:
        p = _plan(acct, options, tax)
    except WithdrawalError as exc:
        assert "cannot raise" in str(exc)
        return
    assert p.cash_after >= acct.cash_reserve  # the withdrawal is taken from cash after the sales
    assert all(t.action is TradeAction.SELL and t.value >= min_trade for t in p.trades)
    if cap is not None:
        total = acct.cash + sum(lot.shares * PRICES[lot.symbol] for lot in acct.lots)
        assert sum(t.value for t in p.trades) <= cap * total / 100
