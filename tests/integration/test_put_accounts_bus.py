"""The portfolio service's book write on a real nats-server (``portfolio.v1.query.put-accounts``): all or
nothing, idempotent by request id, compare-and-set, and an account added this way is in its household."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from contracts import subjects
from contracts.book import AccountWrite, BookObject, BookObjectQuery, PutAccounts, PutAccountsReply
from services.portfolio.main import build
from shared.bus.request import request
from shared.errors import NotFoundError
from shared.paths import DEMO_HOUSEHOLD_FILE
from shared.settings import Settings
from shared.testing.system import InProcessSystem, running_system

pytestmark = pytest.mark.integration


@pytest.fixture
async def portfolio(settings: Settings) -> AsyncIterator[InProcessSystem]:
    async with running_system(settings, services=("portfolio",)) as running:
        yield running


def _account(account_id: str, shares: str = "3") -> dict[str, Any]:
    return {
        "accountId": account_id,
        "householdId": "demo-household",
        "accountType": "taxable",
        "cash": "100.00",
        "lots": [
            {
                "lotId": f"{account_id}-1",
                "symbol": "VTI",
                "shares": shares,
                "costBasis": "600",
                "acquired": "2025-01-02",
            }
        ],
    }


async def _put(system: InProcessSystem, body: PutAccounts) -> PutAccountsReply:
    broker = system.runtimes["portfolio"].broker
    return await request(broker, subjects.PORTFOLIO_QUERY_PUT_ACCOUNTS, body, PutAccountsReply)


async def _get(system: InProcessSystem, kind: str, id_: str) -> BookObject:
    broker = system.runtimes["portfolio"].broker
    query = BookObjectQuery(kind=kind, id=id_)  # type: ignore[arg-type]
    return await request(broker, subjects.PORTFOLIO_QUERY_BOOK_OBJECT, query, BookObject)


async def test_a_batch_is_validated_whole_then_written_once(portfolio: InProcessSystem) -> None:
    bad = PutAccounts(
        request_id="batch-1",
        accounts=[
            AccountWrite(account_id="imp-a", document=_account("imp-a")),
            AccountWrite(account_id="imp-b", document=_account("imp-b", shares="0")),
        ],
    )
    refused = await _put(portfolio, bad)
    assert refused.outcome == "invalid"
    assert [(p.path, p.message) for p in refused.problems] == [
        ("accounts[1].lots[0].shares", "must be positive, got 0")
    ]
    household = await _get(portfolio, "household", "demo-household")
    assert "imp-a" not in household.document["account_ids"]  # nothing of the batch was written

    good = PutAccounts(
        request_id="batch-2",
        accounts=[AccountWrite(account_id=a, document=_account(a), expected_revision=0) for a in ("imp-a", "imp-b")],
    )
    applied = await _put(portfolio, good)
    assert applied.outcome == "applied", applied
    assert [(c.id, c.change) for c in applied.changes] == [
        ("imp-a", "added"),
        ("imp-b", "added"),
        ("demo-household", "changed"),
    ]
    household = await _get(portfolio, "household", "demo-household")
    assert household.document["account_ids"][-2:] == ["imp-a", "imp-b"]
    account = await _get(portfolio, "account", "imp-a")
    assert account.revision == applied.revisions["account.imp-a"]
    assert account.document["lots"][0]["shares"] == "3"

    again = await _put(portfolio, good)  # the same request id: the first reply, nothing written again
    assert again.already_applied and again.revisions == applied.revisions
    assert (await _get(portfolio, "account", "imp-a")).revision == account.revision

    other = PutAccounts(request_id="batch-2", accounts=[AccountWrite(account_id="imp-c", document=_account("imp-c"))])
    reused = await _put(portfolio, other)
    assert reused.outcome == "refused" and reused.problems[0].path == "request_id"

    stale = PutAccounts(
        request_id="batch-3",
        accounts=[AccountWrite(account_id="imp-a", document={"cash": "5"}, merge=True, expected_revision=1)],
    )
    assert (await _put(portfolio, stale)).outcome == "stale"
    fresh = PutAccounts(
        request_id="batch-4",
        accounts=[
            AccountWrite(account_id="imp-a", document={"cash": "5"}, merge=True, expected_revision=account.revision)
        ],
    )
    changed = await _put(portfolio, fresh)
    assert changed.outcome == "applied"
    assert [(c.id, c.fields) for c in changed.changes] == [("imp-a", ["cash"])]
    assert (await _get(portfolio, "account", "imp-a")).document["cash"] == "5"


async def test_a_write_interrupted_after_its_commit_is_finished_by_the_same_request(
    portfolio: InProcessSystem,
) -> None:
    """A crash between the commit record and the writes: the same request id rolls the writes forward."""
    import msgspec

    from contracts import encode
    from services.portfolio.book_handlers import BookRequestRecord, PendingWrite, _fingerprint
    from services.portfolio.domain.state import request_key

    request = PutAccounts(request_id="crash-1", accounts=[AccountWrite(account_id="imp-z", document=_account("imp-z"))])
    preview = await _put(portfolio, msgspec.structs.replace(request, dry_run=True))
    assert preview.outcome == "preview" and [c.id for c in preview.changes] == ["imp-z", "demo-household"]
    with pytest.raises(Exception, match="unknown account"):
        await _get(portfolio, "account", "imp-z")  # a dry run writes nothing
    # what the service had committed when it died: the record, none of the writes
    service = portfolio.runtimes["portfolio"]
    bucket = await service.kv(subjects.KV_PORTFOLIOS)
    from services.portfolio.domain.book_writes import Current, plan_writes
    from services.portfolio.domain.state import AccountState, HouseholdState
    from shared.bus import kv as kvops
    from shared.securities import default_securities

    household, revision = await kvops.read(bucket, "household.demo-household", HouseholdState)
    members = {a: await kvops.read(bucket, f"account.{a}", AccountState) for a in household.account_ids}  # type: ignore[union-attr]
    current = Current(
        accounts={"imp-z": (None, 0), **members}, households={"demo-household": (household, revision)}, models={}
    )
    plan = plan_writes(request, current, default_securities())
    record = BookRequestRecord(
        request_id="crash-1",
        fingerprint=_fingerprint(request),
        reply=PutAccountsReply(request_id="crash-1", outcome="applied", changes=plan.changes),
        writes=[PendingWrite(key=w.key, value=msgspec.Raw(encode(w.value))) for w in plan.writes],
    )
    await kvops.create(bucket, request_key("crash-1"), record)
    finished = await _put(portfolio, request)
    assert finished.already_applied and finished.outcome == "applied"
    assert (await _get(portfolio, "account", "imp-z")).document["cash"] == "100.00"
    assert "imp-z" in (await _get(portfolio, "household", "demo-household")).document["account_ids"]


async def test_the_household_file_is_read_at_the_first_start_only_and_a_changed_one_is_said(
    portfolio: InProcessSystem, settings: Settings, tmp_path: Path
) -> None:
    deleted = await _put(portfolio, PutAccounts(request_id="del-1", accounts=[AccountWrite(account_id="demo-ira")]))
    assert deleted.outcome == "applied"
    await portfolio.stop_service("portfolio")
    edited = json.loads(DEMO_HOUSEHOLD_FILE.read_text(encoding="utf-8"))
    edited["accounts"][0]["cash"] = "1.00"
    path = tmp_path / "household.json"
    path.write_text(json.dumps(edited), encoding="utf-8")
    runtime, service = build(settings.model_copy(update={"household_file": path, "service_name": "portfolio"}))
    await runtime.start()  # a restart: the file is not loaded again
    try:
        portfolio.runtimes["portfolio"] = runtime
        with pytest.raises(NotFoundError):
            await _get(portfolio, "account", "demo-ira")  # a deleted account stays deleted
        assert (await _get(portfolio, "account", "demo")).document["cash"] == "4000.00"
        assert await service.book_handlers.file_differs(path) == ["demo", "demo-ira"]
        assert await service.book_handlers.file_differs(DEMO_HOUSEHOLD_FILE) == ["demo-ira"]
    finally:
        portfolio.runtimes.pop("portfolio")
        await runtime.stop()
