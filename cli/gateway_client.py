"""A small HTTP client of the gateway for the CLI: base URL from ``GATEWAY_URL`` (else
``http://127.0.0.1:$GATEWAY_PORT``, else port 8000), API key from ``GATEWAY_API_KEY``; errors become
CLI exits with a message."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

import httpx
import typer

__all__ = ["DEFAULT_URL", "GatewayClient", "auth_headers", "configured_key", "fail", "gateway_url"]

DEFAULT_URL = "http://127.0.0.1:8000"


def gateway_url() -> str:
    """``GATEWAY_URL``, else the local gateway on ``GATEWAY_PORT`` (the port ``make run`` was given)."""
    port = os.environ.get("GATEWAY_PORT")
    return os.environ.get("GATEWAY_URL") or (f"http://127.0.0.1:{port}" if port else DEFAULT_URL)


def configured_key(env: Mapping[str, str] | None = None) -> str:
    """The key to present: ``REBALANCE_API_KEY``, else ``GATEWAY_API_KEY``, else the first of
    ``GATEWAY_API_KEYS`` (the keys a local gateway started by ``make run`` accepts); empty when the gateway
    wants none."""
    env = os.environ if env is None else env
    if key := (env.get("REBALANCE_API_KEY", "").strip() or env.get("GATEWAY_API_KEY", "").strip()):
        return key
    return next((k.strip() for k in env.get("GATEWAY_API_KEYS", "").split(",") if k.strip()), "")


def auth_headers(env: Mapping[str, str] | None = None) -> dict[str, str]:
    key = configured_key(env)
    return {"Authorization": f"Bearer {key}"} if key else {}


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


class GatewayClient:
    def __init__(self, url: str | None = None, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = (url or gateway_url()).rstrip("/")
        key = api_key if api_key is not None else configured_key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 202), **kwargs: Any) -> httpx.Response:
        """The response, or exit: 2 for a bad request or an unknown run, 1 for a refused action (409)."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the gateway at {self.url} (set GATEWAY_URL): {exc}")
        if response.status_code in ok:
            return response
        try:
            message = response.json().get("error") or response.text
        except ValueError:
            message = response.text
        fail(f"{response.status_code}: {message}", 1 if response.status_code == 409 else 2)

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.call(method, path, **kwargs).json()
        return body
