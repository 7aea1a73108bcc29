"""The book API with real runs: an account added by the API is in its household's wash-sale checks, an
outside buy within 30 days of the system's loss sale is a wash sale, a model-assigned account plans against
its model (security targets and substitutes), and an account with a run in progress cannot be deleted."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing.system import InProcessSystem
from tests.integration.waits import wait_awaiting_approval

pytestmark = pytest.mark.integration


def _put(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.put(path, json=body)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def test_an_outside_buy_in_an_account_added_by_the_api_washes_the_systems_loss(
    system: InProcessSystem, settings: Settings
) -> None:
    app = create_app(settings)

    def setup() -> None:
        with TestClient(app) as client:
            _put(
                client, "/api/households/wash-hh", {"taxProfile": {"filingStatus": "single", "taxableIncome": "150000"}}
            )
            _put(
                client,
                "/api/accounts/wash-a",
                {
                    "householdId": "wash-hh",
                    "accountType": "taxable",
                    "cash": "0",
                    "lots": [
                        {
                            "lotId": "a-agg",
                            "symbol": "AGG",
                            "shares": "100",
                            "costBasis": "11500",
                            "acquired": "2021-03-15",
                        }
                    ],
                },
            )
            _put(client, "/api/accounts/wash-b", {"householdId": "wash-hh", "accountType": "taxable", "cash": "20000"})

    await asyncio.to_thread(setup)
    run_id = await system.request_run("wash-a", mode="harvest", as_of="2022-10-14", dry_run=False, force_rebalance=True)
    record = await system.wait_for_run(run_id)
    assert record.status == "completed", record.error
    assert record.report is not None
    sold = [a for a in record.report.actions if a.action == "sell"]
    assert [a.symbol for a in sold] == ["AGG"]  # the loss harvested by the system

    def after() -> dict[str, Any]:
        with TestClient(app) as client:
            out: dict[str, Any] = {}
            body = {"clientTransactionId": "cust-77", "type": "buy", "symbol": "AGG", "shares": "40", "price": "95.10",
                    "fees": "1.00", "date": "2022-10-25"}  # fmt: skip
            first = client.post("/api/accounts/wash-b/transactions", json=body)
            again = client.post("/api/accounts/wash-b/transactions", json=body)
            out["recorded"] = (
                first.status_code,
                first.json()["lots"],
                again.status_code,
                again.json()["alreadyRecorded"],
            )
            out["cash"] = client.get("/api/accounts/wash-b").json()["cash"]
            out["lots b"] = client.get("/api/portfolio/wash-b/lots").json()["lots"]
            out["form a"] = client.get("/api/portfolio/wash-a/form8949.csv").text
            bad = {**body, "clientTransactionId": "cust-78", "shares": "0"}
            out["invalid"] = client.post("/api/accounts/wash-b/transactions", json=bad).status_code
            no_symbol = {**body, "clientTransactionId": "cust-79", "symbol": "NOPE1"}
            response = client.post("/api/accounts/wash-b/transactions", json=no_symbol)
            out["unknown symbol"] = (response.status_code, response.json()["problems"][0]["path"])
            too_much = {
                "clientTransactionId": "cust-80",
                "type": "withdrawal",
                "amount": "999999",
                "date": "2022-10-26",
            }
            out["overdrawn"] = client.post("/api/accounts/wash-b/transactions", json=too_much).status_code
            sell = {"clientTransactionId": "cust-81", "type": "sell", "symbol": "AGG", "shares": "15", "price": "96",
                    "date": "2022-10-27"}  # fmt: skip
            sold_out = client.post("/api/accounts/wash-b/transactions", json=sell)
            out["sell"] = (sold_out.status_code, sold_out.json()["lots"])
            deposit = {"clientTransactionId": "cust-82", "type": "deposit", "amount": "500", "date": "2022-10-28"}
            out["deposit"] = client.post("/api/accounts/wash-b/transactions", json=deposit).json()["cashAfter"]
        return out

    got = await asyncio.to_thread(after)
    assert got["recorded"] == (201, ["ext-cust-77"], 200, True)
    assert got["cash"] == "16195.00"  # 20,000 - 40 x 95.10 - 1.00
    [lot] = got["lots b"]
    assert lot["lotId"] == "ext-cust-77"
    assert Decimal(lot["washSaleAdjustment"]) > 0  # the system's AGG loss 11 days earlier moved into this lot
    assert lot["holdingPeriodStart"] == "2021-03-26"  # tacked: the sold lot's 578 days counted before 2022-10-25
    assert ",W," in got["form a"]  # the sale's Form 8949 row carries code W
    assert got["invalid"] == 422
    assert got["unknown symbol"] == (422, "symbol")
    assert got["overdrawn"] == 409
    assert got["sell"] == (201, ["ext-cust-77"])
    assert got["deposit"] == "18135.00"  # + 15 x 96 + 500


async def test_a_model_assigned_account_plans_against_its_model(system: InProcessSystem, settings: Settings) -> None:
    app = create_app(settings)

    def setup() -> None:
        with TestClient(app) as client:
            model = {
                "targets": {"equity": 60, "bond": 40},
                "securities": [
                    {"symbol": "SCHB", "percent": 60},
                    {"symbol": "GOVT", "percent": 40, "substitutes": ["IEF"]},
                ],
            }
            _put(client, "/api/models/sixty-forty", model)
            _put(
                client,
                "/api/accounts/model-acct",
                {
                    "householdId": "demo-household",
                    "accountType": "taxable",
                    "cash": "50000",
                    "model": "sixty-forty",
                    "restrictedSymbols": ["GOVT"],  # the model's bond fund cannot be bought: its substitute is
                },
            )

    await asyncio.to_thread(setup)
    run_id = await system.request_run("model-acct", dry_run=True, as_of="2024-06-03", force_rebalance=True)
    record = await system.wait_for_run(run_id)
    assert record.status == "completed", record.error
    assert record.report is not None
    assert record.report.target_allocation == {"equity": Decimal(60), "bond": Decimal(40)}
    buys = {a.symbol: a.estimated_value for a in record.report.actions if a.action == "buy"}
    assert set(buys) == {"SCHB", "IEF"}  # the model's fund, and the substitute of the restricted one
    assert abs(buys["SCHB"] / (buys["SCHB"] + buys["IEF"]) - Decimal("0.6")) < Decimal("0.02")

    def change_model() -> int:
        with TestClient(app) as client:
            etag = client.get("/api/models/sixty-forty").headers["ETag"]
            model = {"targets": {"equity": 80, "bond": 20}, "securities": [{"symbol": "SCHB", "percent": 80}]}
            return client.put("/api/models/sixty-forty", json=model, headers={"If-Match": etag}).status_code

    assert await asyncio.to_thread(change_model) == 200
    again = await system.wait_for_run(
        await system.request_run("model-acct", dry_run=True, as_of="2024-06-03", force_rebalance=True)
    )
    assert again.report is not None  # the model as it is now, resolved when the run loads the account
    assert again.report.target_allocation == {"equity": Decimal(80), "bond": Decimal(20)}


async def test_an_account_with_a_run_in_progress_cannot_be_deleted(system: InProcessSystem, settings: Settings) -> None:
    run_id = await system.request_run("demo-growth", dry_run=False, require_approval=True, force_rebalance=True)
    await wait_awaiting_approval(system, run_id)
    app = create_app(settings)

    def calls() -> tuple[int, str, int]:
        with TestClient(app) as client:
            etag = client.get("/api/accounts/demo-growth").headers["ETag"]
            refused = client.delete("/api/accounts/demo-growth", headers={"If-Match": etag})
            client.post(f"/api/runs/{run_id}/reject", json={"by": "test"})
            return refused.status_code, refused.json()["error"], client.get("/api/accounts/demo-growth").status_code

    status, error, still = await asyncio.to_thread(calls)
    assert status == 409 and run_id in error and "run in progress" in error
    assert still == 200
