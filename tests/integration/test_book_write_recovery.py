"""A book write (here a custodian import) that a crash interrupts mid-way is finished when the portfolio
service starts again, without the client sending it again, and the roll-forward never overwrites a change
made after the crash."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts import subjects
from services.gateway.app import create_app
from services.portfolio.store import PortfolioStore
from shared.bus import kv as kvops
from shared.settings import Settings
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration

FILE = (
    b"account_id,household_id,symbol,shares,cost_basis,acquired\n"
    b"demo,demo-household,VTI,10,2000.00,2020-01-02\n"
    b"demo,demo-household,CASH,,500.00,\n"
    b"demo-growth,demo-household,BND,20,1500.00,2019-05-06\n"
    b"demo-growth,demo-household,CASH,,250.00,\n"
)
HEADERS = {"Content-Type": "text/csv", "Idempotency-Key": "crashing-import"}


async def test_an_interrupted_import_is_finished_at_start_and_keeps_later_changes(
    system: InProcessSystem, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = PortfolioStore.write

    async def crash_before_the_second_account(self: PortfolioStore, key: str, value: object, revision: int) -> int:
        if key == "account.demo-growth":
            raise RuntimeError("the process died here")
        return await real_write(self, key, value, revision)

    monkeypatch.setattr(PortfolioStore, "write", crash_before_the_second_account)
    app = create_app(settings)

    def crash() -> dict[str, Any]:
        with TestClient(app) as client:
            answer = client.post("/api/accounts/import", content=FILE, headers=HEADERS)
            deposit = {"clientTransactionId": "after-crash", "type": "deposit", "amount": "100", "date": "2026-05-01"}
            recorded = client.post("/api/accounts/demo/transactions", json=deposit)
            return {
                "answer": answer.status_code,
                "deposit": recorded.status_code,
                "demo": client.get("/api/accounts/demo").json(),
                "growth": client.get("/api/accounts/demo-growth").json(),
            }

    crashed = await asyncio.to_thread(crash)
    assert crashed["answer"] >= 500  # the portfolio service failed mid-write
    assert crashed["deposit"] == 201
    assert [lot["symbol"] for lot in crashed["demo"]["lots"]] == ["VTI"]  # the first write was made
    assert Decimal(crashed["demo"]["cash"]) == Decimal("600.00")  # and changed after the crash
    assert {lot["symbol"] for lot in crashed["growth"]["lots"]} != {"BND"}  # the second was not
    bucket = await system.client.jetstream().key_value(subjects.KV_PORTFOLIOS)
    assert await kvops.keys_matching(bucket, "unfinished.*") != []

    monkeypatch.setattr(PortfolioStore, "write", real_write)
    await system.stop_service("portfolio")
    await system.start_service("portfolio")  # finishes the interrupted write at start
    assert await kvops.keys_matching(bucket, "unfinished.*") == []

    def after() -> dict[str, Any]:
        with TestClient(create_app(settings)) as client:
            out = {
                "demo": client.get("/api/accounts/demo").json(),
                "growth": client.get("/api/accounts/demo-growth").json(),
            }  # read before sending the import again (which would finish it too)
            again = client.post("/api/accounts/import", content=FILE, headers=HEADERS)
            return {**out, "again": (again.status_code, again.json().get("alreadyApplied"))}

    got = await asyncio.to_thread(after)
    assert [(lot["symbol"], lot["shares"]) for lot in got["growth"]["lots"]] == [("BND", "20")]
    assert Decimal(got["growth"]["cash"]) == Decimal("250.00")
    assert Decimal(got["demo"]["cash"]) == Decimal("600.00")  # the deposit made after the crash is kept
    assert got["again"] == (200, True)
