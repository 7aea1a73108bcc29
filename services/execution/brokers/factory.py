"""Build the brokers the settings name (``BROKER=paper|alpaca``): one per broker account with credentials."""

from __future__ import annotations

from services.execution.brokers.accounts import AlpacaCredentials, BrokerAccounts, load_broker_accounts
from services.execution.brokers.alpaca import AlpacaBroker
from services.execution.brokers.base import Broker
from services.execution.brokers.paper import PaperBroker
from services.execution.domain.costs import CostModel
from shared.clock import Clock
from shared.errors import InvalidInputError
from shared.settings import Settings

__all__ = ["broker_accounts_from_settings", "broker_from_settings"]


def _alpaca(settings: Settings, credentials: AlpacaCredentials) -> AlpacaBroker:
    return AlpacaBroker(
        base_url=credentials.base_url,
        key_id=credentials.key_id.get_secret_value(),
        secret_key=credentials.secret_key.get_secret_value(),
        stream_url=credentials.stream_url,
        timeout_seconds=settings.broker_request_timeout_seconds,
        max_retries=settings.broker_max_retries,
        backoff_seconds=settings.broker_backoff_seconds,
    )


def broker_accounts_from_settings(settings: Settings, model: CostModel, clock: Clock) -> BrokerAccounts:
    """Paper: one paper broker for every broker account. Alpaca: the ``default`` broker account from the
    ``APCA_*`` variables, and every broker account of ``BROKER_ACCOUNTS_FILE`` with its own credentials."""
    if settings.broker == "paper":
        paper = PaperBroker(model, clock)
        return BrokerAccounts({"default": paper}, fallback=paper)
    credentials: dict[str, AlpacaCredentials] = {}
    if settings.apca_api_key_id is not None and settings.apca_api_secret_key is not None:
        credentials["default"] = AlpacaCredentials(
            key_id=settings.apca_api_key_id,
            secret_key=settings.apca_api_secret_key,
            base_url=settings.apca_api_base_url,
            stream_url=settings.apca_api_stream_url,
        )
    if settings.broker_accounts_file is not None:
        listed = load_broker_accounts(settings.broker_accounts_file)
        if "default" in listed and "default" in credentials:
            raise InvalidInputError(
                "BROKER_ACCOUNTS_FILE: default: the default broker account is the one APCA_API_KEY_ID names"
            )
        credentials.update(listed)
    if "default" not in credentials:
        raise InvalidInputError(
            "BROKER=alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY (or a 'default' entry in BROKER_ACCOUNTS_FILE)"
        )
    return BrokerAccounts({name: _alpaca(settings, c) for name, c in sorted(credentials.items())})


def broker_from_settings(settings: Settings, model: CostModel, clock: Clock) -> Broker:
    """The ``default`` broker account's broker."""
    return broker_accounts_from_settings(settings, model, clock).default
