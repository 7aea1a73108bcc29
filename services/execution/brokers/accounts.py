"""Broker accounts and their credentials: which broker (and which keys) each broker account trades through.

Every ledger account maps to a broker account (its ``broker_account`` setting; "" is the ``default`` one).
The ``default`` broker account is the one the ``APCA_*`` variables name (an omnibus account). Others are
listed in ``BROKER_ACCOUNTS_FILE``, a JSON object::

    {
      "ira-omnibus": {
        "keyIdEnv": "IRA_APCA_KEY_ID",            # the key id: from this environment variable,
        "secretKeyEnv": "IRA_APCA_SECRET_KEY",    #   the secret too (or "keyIdFile"/"secretKeyFile":
        "baseUrl": "https://paper-api.alpaca.markets",   # a secrets file holding it)
        "streamUrl": "wss://paper-api.alpaca.markets/stream"   # optional
      }
    }

The file holds no secret itself, only where to read each one. A secret is never logged, never in an
answer, never in a ``repr``: :class:`AlpacaCredentials` keeps it in a :class:`pydantic.SecretStr`; base
URLs are logged through :func:`shared.redact.redact_url`. A bad file stops the service at start with an
error naming the entry and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from contracts import DEFAULT_BROKER_ACCOUNT
from services.execution.brokers.base import Broker
from shared.errors import InvalidInputError
from shared.log import get_logger
from shared.redact import redact_url

__all__ = ["AlpacaCredentials", "BrokerAccounts", "load_broker_accounts"]

log = get_logger("execution.brokers")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlpacaCredentials:
    key_id: SecretStr
    secret_key: SecretStr
    base_url: str
    stream_url: str | None = None


def _secret(name: str, entry: Mapping[str, object], field: str, env: Mapping[str, str]) -> SecretStr:
    from_env, from_file = entry.get(f"{field}Env"), entry.get(f"{field}File")
    if isinstance(from_env, str) and from_env:
        value = env.get(from_env)
        if not value:
            raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {name}.{field}Env: the variable {from_env} is not set")
        return SecretStr(value)
    if isinstance(from_file, str) and from_file:
        try:
            value = Path(from_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InvalidInputError(
                f"BROKER_ACCOUNTS_FILE: {name}.{field}File: cannot read {from_file} ({type(exc).__name__})"
            ) from None
        if not value:
            raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {name}.{field}File: {from_file} is empty")
        return SecretStr(value)
    raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {name}: give {field}Env (a variable name) or {field}File")


def load_broker_accounts(path: Path, env: Mapping[str, str] | None = None) -> dict[str, AlpacaCredentials]:
    """The broker accounts ``path`` lists, their secrets read from the variables or files it names."""
    env = os.environ if env is None else env
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: cannot read {path} ({type(exc).__name__})") from None
    except ValueError as exc:
        raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {path} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInputError("BROKER_ACCOUNTS_FILE: must be an object of broker account name -> credentials")
    accounts: dict[str, AlpacaCredentials] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {name}: must be an object")
        unknown = set(entry) - {"keyIdEnv", "keyIdFile", "secretKeyEnv", "secretKeyFile", "baseUrl", "streamUrl"}
        if unknown:
            raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {name}: unknown field {sorted(unknown)[0]}")
        base_url = entry.get("baseUrl")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {name}.baseUrl: an http(s) URL is required")
        stream_url = entry.get("streamUrl")
        if stream_url is not None and not isinstance(stream_url, str):
            raise InvalidInputError(f"BROKER_ACCOUNTS_FILE: {name}.streamUrl: must be a URL")
        accounts[str(name)] = AlpacaCredentials(
            key_id=_secret(name, entry, "keyId", env),
            secret_key=_secret(name, entry, "secretKey", env),
            base_url=base_url,
            stream_url=stream_url,
        )
        log.info("broker account configured", broker_account=name, base_url=redact_url(base_url))
    return accounts


class BrokerAccounts:
    """The broker of each broker account this deployment has credentials for."""

    def __init__(self, brokers: Mapping[str, Broker], *, fallback: Broker | None = None) -> None:
        self._brokers = dict(brokers)
        self._fallback = fallback
        """The broker every broker account trades through when it keeps no book (the paper broker)."""

    @property
    def default(self) -> Broker:
        return self.get(DEFAULT_BROKER_ACCOUNT)

    @property
    def names(self) -> list[str]:
        return sorted(self._brokers)

    def has(self, name: str) -> bool:
        return name in self._brokers or self._fallback is not None

    def get(self, name: str) -> Broker:
        """The broker of broker account ``name``; refused when no credentials name it."""
        broker = self._brokers.get(name, self._fallback)
        if broker is None:
            raise InvalidInputError(
                f"broker account {name!r} has no credentials here (configured: {', '.join(self.names) or 'none'}; "
                "add it to BROKER_ACCOUNTS_FILE)"
            )
        return broker

    def all(self) -> list[Broker]:
        return [self._brokers[n] for n in self.names]

    async def aclose(self) -> None:
        for broker in self.all():
            await broker.aclose()
