"""Whether the gateway this environment configures guards ``/api`` (the key the CLI presents is
:func:`cli.gateway_client.configured_key`: ``REBALANCE_API_KEY``, else ``GATEWAY_API_KEY``, else the first of
``GATEWAY_API_KEYS``)."""

from __future__ import annotations

from cli.gateway_client import auth_headers, configured_key
from shared.settings import load_settings

__all__ = ["api_headers", "api_key", "gateway_needs_key"]


def api_key() -> str:
    return configured_key()


def api_headers() -> dict[str, str]:
    """``Authorization: Bearer <key>`` when a key is configured, else no header."""
    return auth_headers()


def gateway_needs_key() -> bool:
    """Whether the gateway this environment configures guards /api (a keys file or API keys are set)."""
    settings = load_settings()
    return settings.gateway_keys_file is not None or bool(settings.gateway_api_keys.strip())
