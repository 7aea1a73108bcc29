"""The ledger's indexed replay (n log n) gives exactly the results of the replay it replaced (quadratic, kept
verbatim in ``legacy_ledger``) on random households: every sale, wash-sale match and open lot, field for field,
for every lot method, with and without named lots and account policies."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tax.domain import AccountPolicy, LotMethod, Transaction, TransactionError
from shared.lot_ledger.ledger import replay
from shared.securities import default_securities
from tests.unit.tax import legacy_ledger
from tests.unit.tax.test_tax_properties import households, methods

SECURITIES = default_securities()


def _outcome(fn: object, txs: list[Transaction], method: LotMethod, policies: list[AccountPolicy]) -> object:
    try:
        result = fn(txs, securities=SECURITIES, method=method, accounts=policies)  # type: ignore[operator]
        return (result.sales, result.open_lots, result.matches, result.account_types)
    except TransactionError as exc:
        return ("error", str(exc), exc.line)


def _named_lots(txs: list[Transaction], pick: int) -> list[Transaction]:
    """Give some purchases a lot id and let some sales name a lot bought earlier in the same position."""
    named: dict[tuple[str, str], list[str]] = {}
    out = []
    for i, tx in enumerate(txs):
        key = (tx.account_id, tx.symbol)
        if tx.action.is_acquisition and (i + pick) % 3 == 0:
            tx = replace(tx, lot_id=f"L{i}")
            named.setdefault(key, []).append(f"L{i}")
        elif not tx.action.is_acquisition and named.get(key) and (i + pick) % 2 == 0:
            tx = replace(tx, lot_id=named[key][(i + pick) % len(named[key])])
        out.append(tx)
    return out


@settings(max_examples=400, deadline=None)
@given(households, methods, st.integers(0, 5), st.booleans())
def test_indexed_replay_equals_the_old_one(
    txs: list[Transaction], method: LotMethod, pick: int, with_policy: bool
) -> None:
    txs = _named_lots(txs, pick) if pick else txs
    policies = (
        [AccountPolicy(account_id="solo", lot_method=LotMethod.HIFO, reinvest_is_replacement=False)]
        if with_policy
        else []
    )
    assert _outcome(replay, txs, method, policies) == _outcome(legacy_ledger.replay, txs, method, policies)
