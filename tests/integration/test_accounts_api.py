"""The book over HTTP on a real system: accounts, households and models with ETag / If-Match (412, 428),
422 naming fields, 404 for another tenant, roles, a run in progress refusing a delete (409), outside
transactions (idempotent) and explicit book loads."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import Settings
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _app(settings: Settings, tmp_path: Path) -> Any:
    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps(
            [
                {"tenant": "default", "keySha256": _sha("home-admin"), "roles": ["admin"]},
                {"tenant": "default", "keySha256": _sha("home-trader"), "roles": ["read", "trade", "approve"]},
                {"tenant": "default", "keySha256": _sha("home-reader"), "roles": ["read"]},
                {"tenant": "globex", "keySha256": _sha("globex-admin"), "roles": ["admin"]},
            ]
        )
    )
    return create_app(settings.model_copy(update={"gateway_keys_file": keys}))


def _as(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


ADMIN, TRADER, READER, GLOBEX = _as("home-admin"), _as("home-trader"), _as("home-reader"), _as("globex-admin")

NEW_ACCOUNT: dict[str, Any] = {
    "householdId": "demo-household",
    "name": "Added by the API",
    "account_type": "taxable",  # snake_case is read as well
    "cash": "2500.00",
    "lotMethod": "fifo",
    "lots": [{"lotId": "api-1", "symbol": "VTI", "shares": "10", "costBasis": "2000.00", "acquired": "2025-03-03"}],
}


async def test_accounts_households_and_models_as_resources(
    system: InProcessSystem, settings: Settings, tmp_path: Path
) -> None:
    app = _app(settings, tmp_path)

    def calls() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with TestClient(app) as client:
            got = client.get("/api/accounts/demo", headers=READER)
            out["get"] = (got.status_code, got.json()["accountId"], got.json()["householdId"], got.headers["ETag"])
            out["get camel lots"] = sorted(got.json()["lots"][0])
            demo_etag = got.headers["ETag"]
            out["globex get"] = client.get("/api/accounts/demo", headers=GLOBEX).status_code
            out["globex household"] = client.get("/api/households/demo-household", headers=GLOBEX).status_code
            out["globex put"] = client.put(
                "/api/accounts/demo", json=got.json(), headers={**GLOBEX, "If-Match": demo_etag}
            ).status_code
            out["globex delete"] = client.delete(
                "/api/accounts/demo", headers={**GLOBEX, "If-Match": demo_etag}
            ).status_code
            out["reader put"] = client.put("/api/accounts/api-new", json=NEW_ACCOUNT, headers=READER).status_code
            out["trader put"] = client.put("/api/accounts/api-new", json=NEW_ACCOUNT, headers=TRADER).status_code

            created = client.put("/api/accounts/api-new", json=NEW_ACCOUNT, headers=ADMIN)
            out["create"] = (created.status_code, created.json()["accountId"], created.json()["lots"][0]["lotId"])
            etag = created.headers["ETag"]
            household = client.get("/api/households/demo-household", headers=READER).json()
            out["joined household"] = "api-new" in household["accountIds"]
            out["no if-match"] = client.put("/api/accounts/api-new", json=NEW_ACCOUNT, headers=ADMIN).status_code
            out["create existing"] = client.put(
                "/api/accounts/api-new", json=NEW_ACCOUNT, headers={**ADMIN, "If-None-Match": "*"}
            ).status_code
            changed = {**NEW_ACCOUNT, "cash": "2600.00"}
            out["stale"] = client.put(
                "/api/accounts/api-new", json=changed, headers={**ADMIN, "If-Match": '"1"'}
            ).status_code
            replaced = client.put("/api/accounts/api-new", json=changed, headers={**ADMIN, "If-Match": etag})
            out["replace"] = (replaced.status_code, replaced.json()["cash"], replaced.headers["ETag"] != etag)
            etag = replaced.headers["ETag"]
            bad = {**NEW_ACCOUNT, "lots": [{**NEW_ACCOUNT["lots"][0], "shares": "-2"}]}
            invalid = client.put("/api/accounts/api-new", json=bad, headers={**ADMIN, "If-Match": etag})
            out["invalid"] = (invalid.status_code, invalid.json()["problems"])
            unknown_household = client.put(
                "/api/accounts/api-x", json={**NEW_ACCOUNT, "householdId": "nope"}, headers=ADMIN
            )
            out["unknown household"] = (unknown_household.status_code, unknown_household.json()["problems"][0]["path"])

            out["delete without if-match"] = client.delete("/api/accounts/api-new", headers=ADMIN).status_code
            out["delete stale"] = client.delete(
                "/api/accounts/api-new", headers={**ADMIN, "If-Match": '"2"'}
            ).status_code
            deleted = client.delete("/api/accounts/api-new", headers={**ADMIN, "If-Match": etag})
            out["delete"] = deleted.status_code
            out["gone"] = client.get("/api/accounts/api-new", headers=READER).status_code
            household = client.get("/api/households/demo-household", headers=READER)
            out["left household"] = "api-new" not in household.json()["accountIds"]

            profile = {"taxProfile": {"filingStatus": "mfj", "taxableIncome": "250000", "stateRate": "0.04"}}
            h_etag = household.headers["ETag"]
            out["household stale"] = client.put(
                "/api/households/demo-household", json=profile, headers={**ADMIN, "If-Match": '"999"'}
            ).status_code
            put_household = client.put(
                "/api/households/demo-household", json=profile, headers={**ADMIN, "If-Match": h_etag}
            )
            out["household put"] = (put_household.status_code, put_household.json()["taxProfile"]["filingStatus"])
            bad_profile = {"taxProfile": {"filingStatus": "married"}}
            out["household invalid"] = client.put(
                "/api/households/demo-household",
                json=bad_profile,
                headers={**ADMIN, "If-Match": put_household.headers["ETag"]},
            ).json()["problems"][0]["path"]
            new_household = client.put("/api/households/api-hh", json={"taxProfile": {}}, headers=ADMIN)
            out["household create"] = (new_household.status_code, new_household.json()["accountIds"])

            builtin = client.get("/api/models/moderate", headers=READER)
            out["builtin model"] = (builtin.status_code, builtin.headers["ETag"], builtin.json()["targets"]["equity"])
            out["builtin put"] = client.put(
                "/api/models/moderate", json={"targets": {"equity": 100}}, headers={**ADMIN, "If-Match": '"0"'}
            ).status_code
            model = {
                "targets": {"equity": 90, "bond": 10},
                "securities": [{"symbol": "SCHB", "percent": 60, "substitutes": ["ITOT"]}],
            }
            made = client.put("/api/models/growth", json=model, headers=ADMIN)
            out["model put"] = (made.status_code, made.json()["securities"][0]["substitutes"])
            bad_model = {"targets": {"equity": 90, "bond": 10}, "securities": [{"symbol": "BND", "percent": 20}]}
            out["model invalid"] = client.put(
                "/api/models/growth", json=bad_model, headers={**ADMIN, "If-Match": made.headers["ETag"]}
            ).json()["problems"]
            out["globex model"] = client.get("/api/models/growth", headers=GLOBEX).status_code
            deposit = {"clientTransactionId": "g-1", "type": "deposit", "amount": "10", "date": "2026-01-02"}
            out["globex transaction"] = client.post(
                "/api/accounts/demo/transactions", json=deposit, headers=GLOBEX
            ).status_code
            out["reader transaction"] = client.post(
                "/api/accounts/demo/transactions", json=deposit, headers=READER
            ).status_code
            out["load without mode"] = client.post("/api/accounts/load", json={}, headers=ADMIN).status_code
            other_tenant = {"household_id": "g-hh", "tenant": "default", "accounts": [{"account_id": "g-1"}]}
            loaded = client.post("/api/accounts/load?mode=merge", json=other_tenant, headers=GLOBEX)
            out["globex loads default's"] = (loaded.status_code, loaded.json()["problems"][0]["path"])
        return out

    got = await asyncio.to_thread(calls)
    assert got.pop("get")[:3] == (200, "demo", "demo-household")
    assert got == {
        "get camel lots": ["acquired", "costBasis", "lotId", "shares", "symbol"],
        "globex get": 404,
        "globex household": 404,
        "globex put": 404,
        "globex delete": 404,
        "reader put": 403,
        "trader put": 403,
        "create": (201, "api-new", "api-1"),
        "joined household": True,
        "no if-match": 428,
        "create existing": 412,
        "stale": 412,
        "replace": (200, "2600.00", True),
        "invalid": (
            422,
            [{"path": "lots[0].shares", "message": "must be positive, got -2"}],
        ),
        "unknown household": (422, "household_id"),
        "delete without if-match": 428,
        "delete stale": 412,
        "delete": 200,
        "gone": 404,
        "left household": True,
        "household stale": 412,
        "household put": (200, "mfj"),
        "household invalid": "tax_profile.filing_status",
        "household create": (201, []),
        "builtin model": (200, '"0"', "70"),
        "builtin put": 409,
        "model put": (201, ["ITOT"]),
        "model invalid": [
            {"path": "securities[0].percent", "message": "the bond securities add up to more than its 10%"}
        ],
        "globex model": 404,
        "globex transaction": 404,
        "reader transaction": 403,
        "load without mode": 422,
        "globex loads default's": (422, "household.tenant"),
    }
