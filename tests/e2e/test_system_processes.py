"""The whole system as a user runs it: nats-server, every service in its own process, the HTTP gateway.

Drives it only through HTTP, as a person or another system would, and kills processes for real.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.supervisor import Supervisor
from cli.system_cmd import wait_for_run
from shared.money import settle
from tests.integration.expected import account_value, vix_on

pytestmark = pytest.mark.e2e

STEPS = [
    "load-portfolio",
    "fetch-market-data",
    "analyze-market-conditions",
    "tax-context",
    "calculate-rebalancing",
    "tax-optimization",
    "should-rebalance",
    "approval",
    "execute-trades",
    "update-portfolio",
    "generate-report",
    "send-notifications",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    workdir: Path = tmp_path_factory.mktemp("system")
    supervisor = Supervisor(workdir, gateway_port=_free_port(), env={"STEP_TIMEOUT_SECONDS": "20"})
    try:
        supervisor.start_all()
        supervisor.wait_healthy(timeout=120)
        yield supervisor
    finally:
        supervisor.stop_all()


@pytest.fixture(scope="module")
def http(live: Supervisor) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.gateway_url, timeout=30.0) as client:
        yield client


def _start(http: httpx.Client, body: dict[str, Any], **headers: str) -> str:
    response = http.post("/api/portfolio/rebalance", json=body, headers=headers)
    assert response.status_code == 202, response.text
    payload = response.json()
    assert payload["success"] is True and payload["accountId"] == body["accountId"]
    assert payload["dryRun"] == body.get("dryRun", False) and payload["timestamp"].endswith("Z")
    return str(payload["runId"])


def test_a_dry_run_over_http_shows_every_step_and_the_report(live: Supervisor, http: httpx.Client) -> None:
    run_id = _start(http, {"accountId": "demo", "dryRun": True})
    run = wait_for_run(live.gateway_url, run_id)
    assert run["status"] == "completed", run.get("error")
    assert [s["name"] for s in run["steps"]] == STEPS
    for step in run["steps"]:
        assert set(step) >= {"name", "status", "attempts", "startedAt", "finishedAt", "durationMs", "error"}
        if step["status"] == "completed" and step["name"] not in ("should-rebalance", "generate-report"):
            assert step["attempts"] == 1 and step["durationMs"] is not None
    report = run["report"]
    # Every field of the original workflow's report, and the allocation before and after.
    assert set(report) >= {
        "accountId", "portfolioValue", "analysis", "actions", "execution", "recommendations", "timestamp",
        "allocationBefore", "allocationAfter",
    }  # fmt: skip
    assert set(report["analysis"]) >= {"needsRebalancing", "deviations", "marketConditions", "taxOptimization"}
    assert set(report["execution"]) >= {"executed", "dryRun", "trades", "totalCost", "errors"}
    assert Decimal(report["portfolioValue"]) == account_value("demo", "2026-05-01")
    assert report["analysis"]["marketConditions"]["volatilityIndex"] == pytest.approx(vix_on("2026-05-01"))
    assert report["execution"]["executed"] is False and report["execution"]["dryRun"] is True
    for action in report["actions"]:
        assert set(action) >= {"symbol", "action", "shares", "estimatedValue", "reason", "taxImplication"}
        if action["action"] == "sell":
            assert action["taxImplication"]["holdingPeriod"] in ("short", "long", "mixed")
            assert action["lots"], "a sell names its lots"


def test_two_identical_requests_give_identical_trades(live: Supervisor, http: httpx.Client) -> None:
    runs = [wait_for_run(live.gateway_url, _start(http, {"accountId": "demo", "dryRun": True})) for _ in range(2)]
    assert runs[0]["runId"] != runs[1]["runId"]
    assert runs[0]["report"]["actions"] == runs[1]["report"]["actions"]


def test_the_same_idempotency_key_names_one_run(http: httpx.Client) -> None:
    first = _start(http, {"accountId": "demo", "dryRun": True}, **{"Idempotency-Key": "client-request-7"})
    second = _start(http, {"accountId": "demo", "dryRun": True}, **{"Idempotency-Key": "client-request-7"})
    assert first == second


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dryRun": True}, "accountId"),
        ({"accountId": "demo", "maxTradeAmount": -5}, "maxTradeAmount"),
        ({"accountId": "demo", "riskOverride": "reckless"}, "riskOverride"),
        ({"accountId": "demo", "excludeSymbols": "VTI"}, "excludeSymbols"),
        ({"accountId": "demo", "surprise": 1}, "surprise"),
    ],
)
def test_a_bad_body_gets_422_naming_the_field(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = http.post("/api/portfolio/rebalance", json=body)
    assert response.status_code == 422
    assert field in response.json()["error"]


def test_unknown_account_and_run_get_404(http: httpx.Client) -> None:
    response = http.post("/api/portfolio/rebalance", json={"accountId": "nobody"})
    assert response.status_code == 404 and "nobody" in response.json()["error"]
    assert http.get("/api/runs/00000000-0000-0000-0000-000000000000").status_code == 404
    assert http.get("/api/portfolio/nobody/status").status_code == 404
    for path in ("/api/runs/a%20b", "/api/portfolio/x*y/status", "/api/portfolio/a.b/risk"):
        response = http.get(path)
        assert response.status_code == 422 and "String should match pattern" in response.json()["error"], path


def test_status_analysis_risk_tax_health_and_docs(http: httpx.Client) -> None:
    status = http.get("/api/portfolio/demo/status").json()["portfolio"]
    assert Decimal(status["totalValue"]) == account_value("demo", "2026-05-01")
    assert status["riskTolerance"] == "moderate" and status["holdingsCount"] == 4
    assert sum(Decimal(v) for v in status["currentAllocation"].values()) == pytest.approx(
        Decimal(100), abs=Decimal("0.05")
    )
    analysis = http.get("/api/market/analysis", params={"asOf": "2020-03-16"}).json()["analysis"]
    assert analysis["volatilityIndex"] == pytest.approx(vix_on("2020-03-16")) and analysis["marketTiming"] == "poor"
    risk = http.get("/api/portfolio/demo/risk").json()
    assert 0 < risk["risk"]["metrics"]["volatility"] < 1
    rows = [
        {"date": "2025-01-02", "account": "a", "account_type": "taxable", "symbol": "VTI", "action": "buy",
         "shares": "10", "price": "100"},
        {"date": "2025-03-03", "account": "a", "account_type": "taxable", "symbol": "VTI", "action": "sell",
         "shares": "10", "price": "90"},
        {"date": "2025-03-20", "account": "a", "account_type": "taxable", "symbol": "VOO", "action": "buy",
         "shares": "10", "price": "95"},
    ]  # fmt: skip
    realized = http.post("/api/tax/realized", json={"transactions": rows}).json()
    assert realized["sales"][0]["washSaleDisallowed"] in ("0.00", "0")  # VOO is not identical to VTI
    bad = http.post("/api/tax/realized", json={"transactions": [{**rows[0], "shares": "-1"}]})
    assert bad.status_code == 400 and "line 2" in bad.json()["error"]
    assert http.get("/health").json()["status"] == "ok"
    assert http.get("/docs").status_code == 200
    assert "/api/portfolio/rebalance" in http.get("/openapi.json").json()["paths"]


def test_a_run_waits_for_approval_over_http(live: Supervisor, http: httpx.Client) -> None:
    run_id = _start(http, {"accountId": "demo", "dryRun": True, "requireApproval": True})
    deadline = time.monotonic() + 60
    while not http.get(f"/api/runs/{run_id}").json().get("awaitingApproval"):
        assert time.monotonic() < deadline, "the run never waited for approval"
        time.sleep(0.1)
    assert http.post(f"/api/runs/{run_id}/approve", json={}).status_code == 422  # who approves is required
    response = http.post(f"/api/runs/{run_id}/approve", json={"by": "advisor@firm", "reason": "checked"})
    assert response.status_code == 202
    run = wait_for_run(live.gateway_url, run_id)
    assert run["status"] == "completed" and run["approval"] == "approved by advisor@firm: checked"
    again = http.post(f"/api/runs/{run_id}/reject", json={"by": "someone"})
    assert again.status_code == 409  # no longer waiting
    assert http.post("/api/runs/nope/approve", json={"by": "x"}).status_code == 404


def test_schedules_over_http(http: httpx.Client) -> None:
    body = {"cron": "0 30 21 * * 1-5", "request": {"accountId": "demo", "dryRun": True}, "createdBy": "ops"}
    created = http.put("/api/schedules/weekday-close", json=body)
    assert created.status_code == 200 and created.json()["schedule"]["cron"] == "0 30 21 * * 1-5"
    listed = http.get("/api/schedules").json()["schedules"]
    assert [s["name"] for s in listed] == ["weekday-close"] and listed[0]["request"]["accountId"] == "demo"
    bad = http.put("/api/schedules/x", json={**body, "cron": "whenever"})
    assert bad.status_code == 400 and "cron 'whenever'" in bad.json()["error"]
    unknown = http.put("/api/schedules/x", json={**body, "request": {"accountId": "nobody"}})
    assert unknown.status_code == 404
    assert http.delete("/api/schedules/weekday-close").status_code == 200
    assert http.delete("/api/schedules/weekday-close").status_code == 404
    assert http.get("/api/schedules").json()["schedules"] == []


def test_killing_the_coordinator_mid_run_still_completes_it_once(live: Supervisor, http: httpx.Client) -> None:
    before = http.get("/api/portfolio/demo/status").json()["portfolio"]
    live.stop_service("execution")  # hold the run at the pivot
    run_id = _start(http, {"accountId": "demo", "dryRun": False})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = http.get(f"/api/runs/{run_id}").json()
        if any(s["name"] == "execute-trades" and s["status"] == "running" for s in run.get("steps", [])):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the run never reached execute-trades")
    assert live.stop_service("coordinator", kill=True) == -9  # a crash, not a clean stop
    live.start_service("execution")
    live.start_service("coordinator")
    run = wait_for_run(live.gateway_url, run_id, timeout=120)
    assert run["status"] == "completed", run.get("error")
    report = run["report"]
    assert report["execution"]["executed"] is True
    after = http.get("/api/portfolio/demo/status").json()["portfolio"]
    spent = Decimal(0)
    for trade in report["execution"]["trades"]:
        value = Decimal(trade["shares"]) * Decimal(trade["executionPrice"])
        fee = Decimal(trade["commission"])
        spent += settle(value + fee) if trade["action"] == "buy" else -settle(value - fee)  # each fill to the cent
    assert Decimal(after["cash"]) == Decimal(before["cash"]) - spent  # fills applied exactly once
    assert after["lastRebalanced"] == "2026-05-01"
