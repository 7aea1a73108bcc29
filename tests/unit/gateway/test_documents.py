"""Documents served offline: Swagger UI and ReDoc with bundled assets, the AsyncAPI document of every
subject with its payload schema, and one casing (camelCase, no envelope internals) in echoes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from contracts import RebalanceRequest, ScheduledRun, subjects
from contracts.catalog import CATALOG
from services.gateway.app import create_app
from services.gateway.views import camel_keys, request_view, schedule_view
from shared.settings import Settings


def _client() -> TestClient:
    return TestClient(create_app(Settings(nats_url="nats://127.0.0.1:1")))  # no lifespan: no connection needed


def _no_cdn(page: str) -> None:
    assert not re.search(r"(src|href)=['\"]https?://", page), "an external asset"


def test_swagger_and_redoc_load_their_assets_from_the_gateway() -> None:
    client = _client()
    for path, asset in (
        ("/docs", "swagger-ui-bundle.js"),
        ("/docs", "swagger-ui.css"),
        ("/redoc", "redoc.standalone.js"),
    ):
        page = client.get(path)
        assert page.status_code == 200
        _no_cdn(page.text)
        assert f"/static-docs/{asset}" in page.text
        served = client.get(f"/static-docs/{asset}")
        assert served.status_code == 200 and len(served.content) > 100_000


def test_asyncapi_has_every_subject_with_a_payload_schema() -> None:
    client = _client()
    document = client.get("/asyncapi.json").json()
    assert document["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in document["channels"].values()}
    expected = {
        *subjects.COMMAND_SUBJECTS,
        *subjects.EVENT_SUBJECTS,
        *subjects.PUBLIC_SUBJECTS,
        *(subjects.step_failed(s) for s in subjects.SERVICES),
        *(getattr(subjects, name) for name in subjects.__all__ if "_QUERY_" in name),
    }
    assert expected <= addresses
    schemas = document["components"]["schemas"]
    trade = schemas["TradeExecuted"]
    assert {"run_id", "message_id", "occurred_at", "schema", "fill"} <= set(trade["properties"])
    fill = schemas["Fill"]["properties"]
    assert fill["price"]["type"] == "string" and fill["price"]["format"] == "decimal"  # money as decimal strings
    for channel in document["channels"].values():
        for ref in channel["messages"].values():
            name = ref["$ref"].rsplit("/", 1)[-1]
            assert document["components"]["messages"][name]["payload"]
    page = client.get("/asyncapi")
    assert page.status_code == 200
    _no_cdn(page.text)
    assert all(f"<code>{c.subject}</code>" in page.text for c in CATALOG)


def test_openapi_lists_the_new_routes_with_response_models() -> None:
    spec = _client().get("/openapi.json").json()
    assert "/api/runs" in spec["paths"] and "/api/runs/{run_id}/report.html" in spec["paths"]
    listing = spec["paths"]["/api/runs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing["$ref"].endswith("/RunPage")


def test_echoes_are_camel_case_without_envelope() -> None:
    request = RebalanceRequest(account_id="demo", dry_run=True, exclude_symbols=["VTI"])
    assert request_view(request)["accountId"] == "demo" and request_view(request)["excludeSymbols"] == ["VTI"]
    at = datetime(2026, 5, 1, tzinfo=UTC)
    view = schedule_view(
        ScheduledRun(run_id="r", message_id="m", occurred_at=at, name="n", cron="@daily", request=request)
    )
    assert set(view) == {"name", "cron", "createdBy", "createdAt", "request"}
    assert "_" not in "".join(view["request"])
    risk = camel_keys({"metrics": {"max_drawdown": 0.1, "var_95": 0.02}, "weights": {"VTI": 0.6, "BRK.B": 0.4}})
    assert risk == {"metrics": {"maxDrawdown": 0.1, "var95": 0.02}, "weights": {"VTI": 0.6, "BRK.B": 0.4}}
