"""Build the execution service from settings: ``python -m services.execution``."""

from __future__ import annotations

from services.execution.brokers import AlpacaBroker, Broker, BrokerAccounts, broker_accounts_from_settings
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
    if broker is not None:  # a test's broker: every broker account trades through it
        accounts = BrokerAccounts({"default": broker}, fallback=broker if broker.name == "paper" else None)
    else:
        accounts = broker_accounts_from_settings(settings, model, runtime.clock)
    service = ExecutionService(runtime, model, accounts, order_policy(settings))
    service.register()
    if settings.broker_stream:
        for alpaca in (b for b in accounts.all() if isinstance(b, AlpacaBroker)):

            async def listen(alpaca: AlpacaBroker = alpaca) -> None:
                await alpaca.listen()

            runtime.on_startup(listen)
    return runtime, service
