"""The batch request body and the batch view, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts import BatchAccounts, BatchRecord, RebalanceRequest, batch_run_id
from services.gateway.routes_batch import MAX_BATCH, BatchRequestBody, batch_view

NOW = datetime(2026, 5, 1, 21, 30, tzinfo=UTC)


def test_exactly_one_selection_of_accounts() -> None:
    assert BatchRequestBody(accountIds=["a", "b"]).accountIds == ["a", "b"]
    assert BatchRequestBody(householdId="hh-1").householdId == "hh-1"
    assert BatchRequestBody(all=True).all is True
    for body in ({}, {"all": True, "accountIds": ["a"]}, {"householdId": "h", "accountIds": ["a"]}):
        with pytest.raises(ValidationError, match="exactly one of accountIds, householdId or all"):
            BatchRequestBody(**body)


def test_bad_ids_options_and_sizes_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="accountIds"):
        BatchRequestBody(accountIds=["a b"])
    with pytest.raises(ValidationError, match="accountIds"):
        BatchRequestBody(accountIds=[f"a{i}" for i in range(MAX_BATCH + 1)])
    with pytest.raises(ValidationError, match="maxInFlight"):
        BatchRequestBody(all=True, maxInFlight=0)
    with pytest.raises(ValidationError, match="maxTradeAmount"):
        BatchRequestBody(all=True, maxTradeAmount=-1)


def test_the_options_become_each_run_s_request() -> None:
    body = BatchRequestBody(all=True, dryRun=True, mode="harvest", excludeSymbols=["vti"], forceRebalance=True)
    request = body.to_request("acct-1", None)
    assert (request.account_id, request.dry_run, request.mode, request.exclude_symbols) == (
        "acct-1", True, "harvest", ["VTI"],
    )  # fmt: skip
    assert request.force_rebalance is True


def test_the_view_counts_runs_and_names_each_one() -> None:
    record = BatchRecord(
        batch_id="b1", status="running", request=RebalanceRequest(account_id="a"), states="cfrp",
        max_in_flight=1, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    accounts = BatchAccounts(batch_id="b1", account_ids=["a", "b", "c", "d"])
    view = batch_view(record, accounts, NOW + timedelta(seconds=4), {batch_run_id("b1", "b"): "unknown symbol"})
    assert (view["total"], view["completed"], view["failed"], view["running"], view["pending"]) == (4, 1, 1, 1, 1)
    assert view["accountsPerSecond"] == 0.5 and view["finishedAt"] is None
    assert [r["status"] for r in view["runs"]] == ["completed", "failed", "running", "pending"]
    assert view["runs"][1] == {
        "accountId": "b",
        "runId": batch_run_id("b1", "b"),
        "status": "failed",
        "error": "unknown symbol",
    }
