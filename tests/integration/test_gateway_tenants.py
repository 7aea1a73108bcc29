"""Tenants on a real system: another tenant's runs, accounts and schedules answer 404, a key without the
role 403; bounded input answers 4xx (never 5xx); a bus that is down answers 503 with a reason."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing import NatsServer
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(
        json.dumps(
            [
                {"tenant": "default", "keySha256": _sha("home-trader"), "roles": ["read", "trade", "approve"]},
                {"tenant": "default", "keySha256": _sha("home-reader"), "roles": ["read"]},
                {"tenant": "globex", "keySha256": _sha("globex-admin"), "roles": ["admin"]},
            ]
        )
    )
    return path


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_tenants_see_only_their_own(system: InProcessSystem, settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings.model_copy(update={"gateway_keys_file": _keys_file(tmp_path)}))
    home, reader, globex = _as("home-trader"), _as("home-reader"), _as("globex-admin")

    def calls() -> dict[str, object]:
        out: dict[str, object] = {}
        with TestClient(app) as client:
            body = {"accountId": "demo", "dryRun": True, "requireApproval": True}
            out["reader starts"] = client.post("/api/portfolio/rebalance", json=body, headers=reader).status_code
            out["globex starts demo"] = client.post("/api/portfolio/rebalance", json=body, headers=globex).status_code
            started = client.post("/api/portfolio/rebalance", json=body, headers=home)
            out["home starts"] = started.status_code
            run_id = started.json()["runId"]
            out["home reads run"] = client.get(f"/api/runs/{run_id}", headers=home).status_code
            out["reader reads run"] = client.get(f"/api/runs/{run_id}", headers=reader).status_code
            out["globex reads run"] = client.get(f"/api/runs/{run_id}", headers=globex).status_code
            out["globex lists runs"] = client.get("/api/runs", headers=globex).json()["runs"]
            listed_runs = client.get("/api/runs", headers=reader).json()["runs"]
            out["home lists its run"] = [r["runId"] for r in listed_runs] == [run_id]
            decision, approve = {"by": "x@globex"}, f"/api/runs/{run_id}/approve"
            out["globex approves"] = client.post(approve, json=decision, headers=globex).status_code
            out["reader approves"] = client.post(approve, json=decision, headers=reader).status_code
            out["globex cancels"] = client.post(f"/api/runs/{run_id}/cancel", headers=globex).status_code
            out["home cancels"] = client.post(f"/api/runs/{run_id}/cancel", headers=home).status_code
            out["globex status"] = client.get("/api/portfolio/demo/status", headers=globex).status_code
            out["home status"] = client.get("/api/portfolio/demo/status", headers=reader).status_code
            schedule = {"cron": "@daily", "request": {"accountId": "demo", "dryRun": True}}
            named = "/api/schedules/home-daily"
            out["home schedules"] = client.put(named, json=schedule, headers=home).status_code
            out["globex schedules demo"] = client.put("/api/schedules/g", json=schedule, headers=globex).status_code
            out["globex takes name"] = client.put(named, json=schedule, headers=globex).status_code
            out["globex lists"] = client.get("/api/schedules", headers=globex).json()["schedules"]
            listed = client.get("/api/schedules", headers=reader).json()["schedules"]
            out["home lists"] = [(s["name"], s["request"]["tenant"]) for s in listed]
            out["globex deletes"] = client.delete("/api/schedules/home-daily", headers=globex).status_code
            batch = {"accountIds": ["demo"], "dryRun": True}
            out["globex batches demo"] = client.post("/api/rebalance/batch", json=batch, headers=globex).status_code
            every = {"all": True, "dryRun": True}
            out["globex batches all"] = client.post("/api/rebalance/batch", json=every, headers=globex).status_code
            batched = client.post("/api/rebalance/batch", json=every, headers=home)
            out["home batches all"] = (batched.status_code, batched.json().get("total"))
            batch_id = batched.json()["batchId"]
            out["globex reads batch"] = client.get(f"/api/batches/{batch_id}", headers=globex).status_code
            out["home reads batch"] = client.get(f"/api/batches/{batch_id}", headers=reader).status_code
            out["home deletes"] = client.delete("/api/schedules/home-daily", headers=home).status_code
        return out

    got = await asyncio.to_thread(calls)
    assert got == {
        "reader starts": 403,
        "globex starts demo": 404,
        "home starts": 202,
        "home reads run": 200,
        "reader reads run": 200,
        "globex reads run": 404,
        "globex lists runs": [],
        "home lists its run": True,
        "globex approves": 404,
        "reader approves": 403,
        "globex cancels": 404,
        "home cancels": 202,
        "globex status": 404,
        "home status": 200,
        "home schedules": 200,
        "globex schedules demo": 404,
        "globex takes name": 404,  # its request names an account globex does not have
        "globex lists": [],
        "home lists": [("home-daily", "default")],
        "globex deletes": 404,
        "globex batches demo": 422,  # demo is not globex's: unknown
        "globex batches all": 422,  # globex holds no account
        "home batches all": (202, 3),
        "globex reads batch": 404,
        "home reads batch": 200,
        "home deletes": 200,
    }


async def test_hostile_input_answers_4xx(system: InProcessSystem, settings: Settings) -> None:
    app = create_app(settings)

    def calls() -> list[int]:
        with TestClient(app) as client:
            huge = ["VTI" * 5] * 100_000  # about 1.4 MB of excludeSymbols
            many = ["VTI"] * 501
            header = [{"date\nx": "2024-01-02", "account": "a", "account_type": "taxable", "symbol": "VTI",
                       "action": "buy", "shares": "1", "price": "1"}]  # fmt: skip
            return [
                client.post("/api/portfolio/rebalance", json={"accountId": "demo", "excludeSymbols": huge}).status_code,
                client.post("/api/portfolio/rebalance", json={"accountId": "demo", "excludeSymbols": many}).status_code,
                client.post("/api/portfolio/rebalance", json={"accountId": "demo", "asOf": "0002-01-01"}).status_code,
                client.get("/api/market/analysis", params={"asOf": "0002-01-01"}).status_code,
                client.get("/api/portfolio/demo/status", params={"asOf": "0002-01-01"}).status_code,
                client.post("/api/tax/realized", json={"transactions": header}).status_code,
                client.post(
                    "/api/portfolio/rebalance", json={"accountId": "demo", "approvalTimeoutSeconds": 1e12}
                ).status_code,
            ]

    assert await asyncio.to_thread(calls) == [413, 422, 422, 422, 422, 422, 422]


async def test_bus_down_answers_503_with_a_reason(nats_server: NatsServer, settings: Settings) -> None:
    app = create_app(settings)

    def calls() -> tuple[int, str]:
        with TestClient(app) as client:
            nats_server.stop()
            response = client.get("/api/runs/some-run")
            return response.status_code, response.json()["error"]

    status, error = await asyncio.to_thread(calls)
    assert status == 503
    assert "bus" in error
