"""Build the execution service from settings: ``python -m services.execution``."""

from __future__ import annotations

from services.execution.brokers import AlpacaBroker, Broker, broker_from_settings
from services.execution.handlers import ExecutionService
from services.execution.trading import OrderPolicy
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.costs import cost_model_from
from shared.settings import Settings

__all__ = ["build", "order_policy"]


def order_policy(settings: Settings) -> OrderPolicy:
    return OrderPolicy(
        order_type=settings.broker_order_type,
        time_in_force=settings.broker_time_in_force,
        limit_bps=settings.broker_limit_bps,
        allowance_bps=settings.broker_price_allowance_bps,
        fill_polls=settings.broker_fill_polls,
        poll_interval_seconds=settings.broker_poll_interval_seconds,
        fractional=settings.broker_fractional or settings.broker == "paper",
    )


def build(
    settings: Settings, clock: Clock | None = None, broker: Broker | None = None
) -> tuple[ServiceRuntime, ExecutionService]:
    runtime = ServiceRuntime("execution", settings, clock=clock)
    model = cost_model_from(settings)
    service = ExecutionService(
        runtime, model, broker or broker_from_settings(settings, model, runtime.clock), order_policy(settings)
    )
    service.register()
    if settings.broker_stream and isinstance(service.broker, AlpacaBroker):
        alpaca = service.broker

        async def listen() -> None:
            await alpaca.listen(settings.apca_api_stream_url)

        runtime.on_startup(listen)
    return runtime, service
