"""An Idempotency-Key reused with another body is refused, naming the fields that differ."""

from __future__ import annotations

from contracts import RebalanceRequest
from services.gateway.idempotency import reuse_problem


def test_same_request_or_new_key_is_fine() -> None:
    request = RebalanceRequest(account_id="demo", dry_run=True)
    assert reuse_problem("k", None, request) is None
    assert reuse_problem("k", request, RebalanceRequest(account_id="demo", dry_run=True)) is None


def test_a_different_body_names_what_differs() -> None:
    first = RebalanceRequest(account_id="demo", dry_run=True)
    problem = reuse_problem("k", first, RebalanceRequest(account_id="demo", dry_run=False, force_rebalance=True))
    assert problem is not None
    assert "Idempotency-Key 'k' was already used for a different request" in problem
    assert "dryRun, forceRebalance" in problem
