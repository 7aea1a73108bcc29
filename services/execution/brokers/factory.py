"""Build the broker the settings name (``BROKER=paper|alpaca``)."""

from __future__ import annotations

from services.execution.brokers.alpaca import AlpacaBroker
from services.execution.brokers.base import Broker
from services.execution.brokers.paper import PaperBroker
from services.execution.domain.costs import CostModel
from shared.clock import Clock
from shared.errors import InvalidInputError
from shared.settings import Settings

__all__ = ["broker_from_settings"]


def broker_from_settings(settings: Settings, model: CostModel, clock: Clock) -> Broker:
    if settings.broker == "paper":
        return PaperBroker(model, clock)
    if settings.apca_api_key_id is None or settings.apca_api_secret_key is None:
        raise InvalidInputError("BROKER=alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    return AlpacaBroker(
        base_url=settings.apca_api_base_url,
        key_id=settings.apca_api_key_id.get_secret_value(),
        secret_key=settings.apca_api_secret_key.get_secret_value(),
        timeout_seconds=settings.broker_request_timeout_seconds,
        max_retries=settings.broker_max_retries,
        backoff_seconds=settings.broker_backoff_seconds,
    )
