"""Invariants of the ledger, checked with hypothesis on generated households.

Basis conservation, the identity tested exactly (Decimal):
    sum(shares x price + fees of every acquisition) + sum(disallowed losses added to taxable replacements)
        == sum(cost basis of every lot relieved, taxable and IRA) + sum(adjusted basis of the open lots)
and  sum(disallowed of the sales) == added to replacements + lost permanently (IRA replacements).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from services.tax.domain import (
    AccountType,
    Action,
    LotMethod,
    RealizedResult,
    Transaction,
    TransactionError,
    canonical_order,
    compute_realized,
)

from .helpers import D

ACCOUNTS = {"joint": AccountType.TAXABLE, "solo": AccountType.TAXABLE, "ira": AccountType.TRADITIONAL_IRA}
SYMBOLS = ["SPY", "IVV", "VTI", "XYZ"]  # SPY and IVV are substantially identical
START = date(2024, 11, 1)

_row = st.tuples(
    st.integers(0, 45),
    st.sampled_from(sorted(ACCOUNTS)),
    st.sampled_from(SYMBOLS),
    st.sampled_from(["buy", "buy", "sell", "reinvest"]),
    st.integers(1, 30),
    st.integers(2000, 12000),
    st.sampled_from(["0", "0", "1.25"]),
)


def _valid(rows: list[tuple[int, str, str, str, int, int, str]]) -> list[Transaction]:
    """Turn rows into transactions, clipping every sale to the shares held (in canonical order)."""
    raw = [
        Transaction(
            trade_date=START + timedelta(days=day),
            account_id=account,
            account_type=ACCOUNTS[account],
            symbol=symbol,
            action=Action(action),
            shares=D(shares),
            price=D(cents) / 100,
            fees=D(fees),
        )
        for day, account, symbol, action, shares, cents, fees in rows
    ]
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    valid = []
    for t in canonical_order(raw):
        key = (t.account_id, t.symbol)
        if t.action is Action.SELL:
            shares = min(t.shares, held[key])
            if shares == 0:
                continue
            t = replace(t, shares=shares)
            held[key] -= shares
        else:
            held[key] += t.shares
        valid.append(t)
    return valid


_uniform = st.lists(_row, min_size=1, max_size=25).map(_valid).filter(bool)


@st.composite
def _loss_then_rebuy(draw: st.DrawFn) -> list[tuple[int, str, str, str, int, int, str]]:
    """Episodes built to wash: buy high, sell lower within weeks, buy again (the same fund or its twin,
    in any account) between 30 days before and 30 days after the sale."""
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        account = draw(st.sampled_from(["joint", "solo"]))
        symbol = draw(st.sampled_from(["SPY", "IVV", "VTI"]))
        day = draw(st.integers(0, 20))
        shares = draw(st.integers(2, 30))
        high = draw(st.integers(5000, 12000))
        rows.append((day + 31, account, symbol, "buy", shares, high, "0"))
        sale_day = day + 31 + draw(st.integers(1, 40))
        rows.append(
            (sale_day, account, symbol, "sell", draw(st.integers(1, shares)), high - draw(st.integers(1, 3000)), "0")
        )
        twin = {"SPY": "IVV", "IVV": "SPY"}.get(symbol, symbol)
        rows.append((
            sale_day + draw(st.integers(-30, 30)),
            draw(st.sampled_from(sorted(ACCOUNTS))),
            draw(st.sampled_from([symbol, twin])),
            draw(st.sampled_from(["buy", "reinvest"])),
            draw(st.integers(1, 40)),
            draw(st.integers(2000, 12000)),
            "0",
        ))  # fmt: skip
    return rows


_washing = _loss_then_rebuy().map(_valid).filter(bool)
households = st.one_of(_uniform, _washing)
methods = st.sampled_from(list(LotMethod))


def _all_sales(result: RealizedResult) -> list:
    return [*result.sales, *result.non_taxable_sales]


@settings(max_examples=150, deadline=None)
@given(households, methods, st.randoms(use_true_random=False))
def test_result_does_not_depend_on_row_order(txs: list[Transaction], method: LotMethod, rnd: random.Random) -> None:
    shuffled = list(txs)
    rnd.shuffle(shuffled)
    first = compute_realized(txs, method=method)
    second = compute_realized(shuffled, method=method)
    assert first.to_json_dict() == second.to_json_dict()
    assert first.matches == second.matches


@settings(max_examples=150, deadline=None)
@given(households, methods)
def test_disallowed_never_exceeds_the_loss_and_shares_match_one_to_one(
    txs: list[Transaction], method: LotMethod
) -> None:
    result = compute_realized(txs, method=method)
    event("washes" if result.matches else "no wash")
    for sale in result.sales:
        assert 0 <= sale.wash_sale_disallowed <= sale.loss_before_wash
        assert sale.gain <= max(Decimal(0), sale.proceeds - sale.cost_basis) or sale.wash_sale_disallowed > 0
    assert sum((s.wash_sale_disallowed for s in result.sales), Decimal(0)) <= sum(
        (s.loss_before_wash for s in result.sales), Decimal(0)
    )
    matched_per_sale: dict[int, Decimal] = defaultdict(Decimal)
    used_per_replacement: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for m in result.matches:
        matched_per_sale[m.sale_id] += m.shares
        used_per_replacement[(m.replacement_account_id, m.replacement_lot_id)] += m.shares
        assert (m.replacement_account_id, m.replacement_lot_id) != (m.sold_account_id, m.sold_lot_id)
        assert abs((m.replacement_acquired - m.sale_date).days) <= 30
    by_id = {s.sale_id: s for s in _all_sales(result)}
    for sale_id, shares in matched_per_sale.items():
        assert by_id[sale_id].taxable and shares <= by_id[sale_id].shares
    buys_by_lot: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for sale in _all_sales(result):
        buys_by_lot[(sale.account_id, sale.lot_id)] += sale.shares
    for lot in result.open_lots:
        buys_by_lot[(lot.account_id, lot.lot_id)] += lot.shares
    for key, used in used_per_replacement.items():
        assert used <= buys_by_lot[key]


@settings(max_examples=150, deadline=None)
@given(households, methods)
def test_basis_is_conserved(txs: list[Transaction], method: LotMethod) -> None:
    result = compute_realized(txs, method=method)
    paid = sum((t.shares * t.price + t.fees for t in txs if t.action is not Action.SELL), Decimal(0))
    added = sum((m.disallowed for m in result.matches if not m.permanent), Decimal(0))
    lost = sum((m.disallowed for m in result.matches if m.permanent), Decimal(0))
    relieved = sum((s.cost_basis for s in _all_sales(result)), Decimal(0))
    still_open = sum((lot.adjusted_basis for lot in result.open_lots), Decimal(0))
    assert paid + added == relieved + still_open
    assert sum((s.wash_sale_disallowed for s in result.sales), Decimal(0)) == added + lost
    assert sum((s.permanently_disallowed for s in result.sales), Decimal(0)) == lost


@settings(max_examples=100, deadline=None)
@given(households, st.integers(1, 50))
def test_never_sells_more_than_held(txs: list[Transaction], extra: int) -> None:
    result = compute_realized(txs)
    for lot in result.open_lots:
        assert lot.shares > 0
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for lot in result.open_lots:
        held[(lot.account_id, lot.symbol)] += lot.shares
    account, symbol = txs[-1].account_id, txs[-1].symbol
    last = max(t.trade_date for t in txs) + timedelta(days=1)
    oversell = Transaction(
        trade_date=last,
        account_id=account,
        account_type=ACCOUNTS[account],
        symbol=symbol,
        action=Action.SELL,
        shares=held[(account, symbol)] + extra,
        price=D(10),
        line=99,
    )
    with pytest.raises(TransactionError, match="line 99: selling"):
        compute_realized([*txs, oversell])


@settings(max_examples=200, deadline=None)
@given(households, methods)
def test_every_disallowed_dollar_lands_exactly_once(txs: list[Transaction], method: LotMethod) -> None:
    """sum(disallowed) == adjustments of the lots still held + adjustments carried by the lots since sold
    (in those sales' basis) + permanently disallowed (IRA replacements), to the cent and exactly."""
    result = compute_realized(txs, method=method)
    disallowed = sum((s.wash_sale_disallowed for s in result.sales), Decimal(0))
    held = sum((lot.wash_sale_adjustment for lot in result.open_lots), Decimal(0))
    carried = sum((s.wash_sale_adjustment for s in _all_sales(result)), Decimal(0))
    permanent = sum((s.permanently_disallowed for s in result.sales), Decimal(0))
    event("carried into a later sale" if carried else "held or permanent only")
    assert disallowed == held + carried + permanent
    for sale in _all_sales(result):
        assert 0 <= sale.wash_sale_adjustment <= sale.cost_basis
