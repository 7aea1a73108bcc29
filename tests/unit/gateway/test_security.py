"""The gateway's guard without a bus: keys file, roles, per-key rate limit and body limit (413 before parsing)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from services.gateway.security import (
    GatewayGuard,
    Principal,
    RateLimiter,
    load_key_ring,
    parse_keys_file,
    principal_of,
    required_role,
)
from shared.settings import Settings


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


KEYS = [
    {"tenant": "acme", "keySha256": _sha("acme-reader"), "roles": ["read"]},
    {"tenant": "acme", "keySha256": _sha("acme-trader"), "roles": ["read", "trade"]},
    {"tenant": "acme", "keySha256": _sha("acme-approver"), "roles": ["read", "approve"]},
    {"tenant": "globex", "keySha256": _sha("globex-admin"), "roles": ["admin"]},
]


def _settings(tmp_path: Path, **extra: object) -> Settings:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(KEYS))
    return Settings(gateway_keys_file=keys, **extra)  # type: ignore[arg-type]


def _app(settings: Settings) -> FastAPI:
    app = FastAPI()
    app.add_middleware(GatewayGuard, settings=settings)
    seen: list[int] = []

    @app.get("/api/thing")
    async def thing(principal: Principal = Depends(principal_of)) -> dict[str, str]:
        return {"tenant": principal.tenant}

    @app.post("/api/thing")
    async def make(request: Request) -> dict[str, int]:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    @app.post("/api/runs/{run_id}/approve")
    async def approve(run_id: str) -> dict[str, str]:
        return {"approved": run_id}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.state.seen = seen
    return app


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_identify_tenant_and_roles_and_refuse_the_rest(tmp_path: Path) -> None:
    with TestClient(_app(_settings(tmp_path))) as client:
        assert client.get("/health").status_code == 200  # no key needed
        assert client.get("/api/thing").status_code == 401
        assert client.get("/api/thing", headers=_bearer("acme-reader-typo")).status_code == 401
        assert client.get("/api/thing", headers=_bearer("acme-reader")).json() == {"tenant": "acme"}
        assert client.get("/api/thing", headers=_bearer("globex-admin")).json() == {"tenant": "globex"}
        # a reader may not trade or approve; a trader may not approve; admin may do everything
        assert client.post("/api/thing", headers=_bearer("acme-reader"), content=b"{}").status_code == 403
        assert client.post("/api/thing", headers=_bearer("acme-trader"), content=b"{}").status_code == 200
        assert client.post("/api/runs/r1/approve", headers=_bearer("acme-trader")).status_code == 403
        assert client.post("/api/runs/r1/approve", headers=_bearer("acme-approver")).status_code == 200
        assert client.post("/api/runs/r1/approve", headers=_bearer("globex-admin")).status_code == 200
        forbidden = client.post("/api/thing", headers=_bearer("acme-reader"), content=b"{}")
        assert "'trade' role" in forbidden.json()["error"]


def test_single_tenant_shortcut_and_open_mode() -> None:
    ring = load_key_ring(Settings(gateway_api_keys="one, two"))
    principal = ring.identify("two")
    assert principal is not None and principal.tenant == "default" and principal.may("admin")
    assert ring.identify("three") is None
    assert load_key_ring(Settings()).open


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{}", "expected a JSON list"),
        ('[{"tenant": "a", "keySha256": "ABC", "roles": ["read"]}]', "[0].keySha256"),
        ('[{"tenant": "a b", "keySha256": "' + "0" * 64 + '", "roles": ["read"]}]', "[0].tenant"),
        ('[{"tenant": "a", "keySha256": "' + "0" * 64 + '", "roles": ["root"]}]', "[0].roles"),
        ('[{"tenant": "a", "keySha256": "' + "0" * 64 + '", "roles": ["read"], "key": "x"}]', "unknown field"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_keys_file_is_refused_naming_the_entry(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_keys_file(text, "keys.json")


def test_required_role_by_method_and_path() -> None:
    assert required_role("GET", "/api/runs/x") == "read"
    assert required_role("POST", "/api/portfolio/rebalance") == "trade"
    assert required_role("PUT", "/api/schedules/nightly") == "trade"
    assert required_role("POST", "/api/runs/x/reject") == "approve"
    assert required_role("POST", "/api/tax/realized") == "read"
    assert required_role("PUT", "/api/households/h1") == "admin"
    assert required_role("POST", "/api/dlq/replay") == "admin"
    assert required_role("GET", "/api/reconcile") == "admin"
    assert required_role("GET", "/api/accounts/demo/reconcile") == "admin"
    assert required_role("POST", "/api/accounts/demo/reconcile/clear") == "admin"


def test_rate_limit_per_key_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = _settings(tmp_path, gateway_rate_limit_per_second=0.5, gateway_rate_burst=3)
    with TestClient(_app(settings)) as client:
        codes = [client.get("/api/thing", headers=_bearer("acme-reader")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/api/thing", headers=_bearer("acme-reader"))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        # another key has its own bucket
        assert client.get("/api/thing", headers=_bearer("acme-trader")).status_code == 200


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(10.0, 2.0, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.1)
    now[0] += 0.1
    assert limiter.take("k") == 0.0


def test_body_over_the_limit_is_413_and_never_reaches_the_route(tmp_path: Path) -> None:
    settings = _settings(tmp_path, gateway_max_body_bytes=4096)
    app = _app(settings)
    with TestClient(app) as client:
        ok = client.post("/api/thing", headers=_bearer("acme-trader"), content=b"x" * 4096)
        assert ok.status_code == 200 and ok.json() == {"bytes": 4096}
        too_big = client.post("/api/thing", headers=_bearer("acme-trader"), content=b"x" * 4097)
        assert too_big.status_code == 413

        def chunks():  # no Content-Length: counted as it streams in
            for _ in range(100):
                yield b"y" * 1000

        streamed = client.post("/api/thing", headers=_bearer("acme-trader"), content=chunks())
        assert streamed.status_code == 413
    assert app.state.seen == [4096]


def test_a_bad_keys_file_stops_the_gateway_at_start(tmp_path: Path) -> None:
    from services.gateway.app import create_app

    keys = tmp_path / "keys.json"
    keys.write_text('[{"tenant": "acme", "keySha256": "nope", "roles": ["read"]}]')
    with pytest.raises(ValueError, match=r"keys.json\[0\].keySha256"):
        create_app(Settings(gateway_keys_file=keys))
