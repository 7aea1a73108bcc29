"""Service tests on the in-memory broker: each handler answers its command with the right event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx

from contracts import (
    AccountSnapshot,
    BuildTaxContext,
    FetchMarketData,
    Lot,
    Notify,
    PlanOptions,
    PlanRebalance,
    TaxProfile,
    subjects,
)
from services.market_data.main import build as build_market_data
from services.notifications.handlers import NotificationService
from services.notifications.main import build as build_notifications
from services.rebalancing.main import build as build_rebalancing
from services.tax.main import build as build_tax
from shared.bus.runtime import ServiceRuntime
from shared.clock import Clock
from shared.settings import Settings
from tests.service.helpers import NOW, OFFLINE, in_memory, send

AS_OF = date(2026, 5, 1)


def _envelope(step: str) -> dict:
    return {"run_id": "run-1", "message_id": f"run-1:{step}:1", "occurred_at": NOW, "step": step}


def _account() -> AccountSnapshot:
    return AccountSnapshot(
        account_id="acct",
        household_id="hh",
        cash=Decimal("1000"),
        lots=[
            Lot(lot_id="v1", symbol="VTI", shares=Decimal(100), cost_basis=Decimal("20000"), acquired=date(2020, 1, 2)),
            Lot(lot_id="b1", symbol="BND", shares=Decimal(50), cost_basis=Decimal("4500"), acquired=date(2021, 3, 15)),
        ],
        target={"equity": Decimal(60), "bond": Decimal(40), "reit": Decimal(0), "cash": Decimal(0)},
        tax_profile=TaxProfile(filing_status="single", taxable_income=Decimal(150000), magi=Decimal(150000)),
    )


async def test_market_data_answers_fetch_with_the_days_closes() -> None:
    async with in_memory(build_market_data, subjects.MARKET_DATA_FETCHED) as (broker, _, captured):
        await send(
            broker,
            subjects.MARKET_DATA_FETCH,
            FetchMarketData(**_envelope("fetch-market-data"), symbols=["VTI", "BND"], as_of=AS_OF),
        )
    [event] = captured.on(subjects.MARKET_DATA_FETCHED)
    assert event["as_of"] == "2026-05-01"
    assert event["quotes"]["VTI"]["close"] == "355.29" and event["quotes"]["BND"]["close"] == "73.36"
    assert event["message_id"] == "run-1:fetch-market-data:1:result"


async def test_market_data_refuses_an_unknown_symbol_without_retrying() -> None:
    failed = subjects.step_failed("market_data")
    async with in_memory(build_market_data, failed, subjects.MARKET_DATA_FETCHED) as (broker, _, captured):
        await send(
            broker,
            subjects.MARKET_DATA_FETCH,
            FetchMarketData(**_envelope("fetch-market-data"), symbols=["NOPE"], as_of=AS_OF),
        )
    [event] = captured.on(failed)
    assert event["retryable"] is False and "NOPE" in event["error"]
    assert captured.on(subjects.MARKET_DATA_FETCHED) == []


async def test_a_malformed_command_is_dead_lettered_with_the_reason() -> None:
    dlq = subjects.dlq_subject(subjects.MARKET_DATA_FETCH)
    async with in_memory(build_market_data, dlq) as (broker, _, captured):
        await broker.publish(b"not json", subjects.MARKET_DATA_FETCH)
    assert captured.on(dlq) == [b"not json"]


async def test_rebalancing_plans_lot_level_trades_with_reasons() -> None:
    prices = {"VTI": Decimal("355.29"), "BND": Decimal("73.36"), "VNQ": Decimal("96.06"), "GLD": Decimal(400)}
    command = PlanRebalance(
        **_envelope("calculate-rebalancing"), account=_account(), prices=prices, as_of=AS_OF, options=PlanOptions()
    )
    async with in_memory(build_rebalancing, subjects.REBALANCING_PLANNED) as (broker, _, captured):
        await send(broker, subjects.REBALANCING_PLAN, command)
    [event] = captured.on(subjects.REBALANCING_PLANNED)
    plan = event["plan"]
    assert plan["needs_rebalancing"] is True  # equity 88% against a 60% target
    sells = [t for t in plan["trades"] if t["action"] == "sell"]
    assert sells and all(t["symbol"] == "VTI" and t["lots"] and t["reason"] for t in sells)
    assert any(t["action"] == "buy" and t["symbol"] == "BND" for t in plan["trades"])


async def test_tax_builds_the_context_with_terms_and_rates() -> None:
    command = BuildTaxContext(
        **_envelope("tax-context"),
        account=_account(),
        household_activity=[],
        prices={"VTI": Decimal("355.29"), "BND": Decimal("73.36")},
        as_of=AS_OF,
    )
    async with in_memory(build_tax, subjects.TAX_CONTEXT_BUILT) as (broker, _, captured):
        await send(broker, subjects.TAX_BUILD_CONTEXT, command)
    [event] = captured.on(subjects.TAX_CONTEXT_BUILT)
    context = event["context"]
    lots = {lot["lot_id"]: lot for lot in context["lots"]}
    assert lots["v1"]["term"] == "long" and Decimal(lots["v1"]["unrealized_gain"]) == Decimal("15529.00")
    assert Decimal(lots["b1"]["unrealized_gain"]) == Decimal("-832.00")
    assert Decimal(context["long_term_rate"]) == Decimal("0.15")  # 15% bracket, no state tax, under NIIT
    assert Decimal(context["short_term_rate"]) == Decimal("0.24")


async def test_tax_answers_the_realized_query_like_the_cli() -> None:
    rows = [
        {"date": "2025-01-02", "account": "a", "account_type": "taxable", "symbol": "SPY", "action": "buy",
         "shares": "100", "price": "10"},
        {"date": "2025-02-03", "account": "a", "account_type": "taxable", "symbol": "SPY", "action": "sell",
         "shares": "100", "price": "7.5"},
        {"date": "2025-02-20", "account": "a", "account_type": "taxable", "symbol": "VOO", "action": "buy",
         "shares": "100", "price": "8"},
    ]  # fmt: skip
    async with in_memory(build_tax) as (broker, _, _captured):
        response = await broker.request(
            b'{"transactions": ' + __import__("json").dumps(rows).encode() + b"}", subjects.TAX_QUERY_REALIZED
        )
    reply = __import__("json").loads(response.body)
    assert reply["ok"] is True
    [sale] = reply["result"]["sales"]
    assert sale["wash_sale_disallowed"] == "250.00" and sale["code"] == "W"  # VOO and SPY are identical


async def test_notifications_log_and_report_a_failing_webhook_without_failing() -> None:
    settings = OFFLINE.model_copy(
        update={"webhook_url": "http://127.0.0.1:9/hook", "webhook_attempts": 2, "webhook_backoff_seconds": 0}
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    def build(s: Settings, clock: Clock | None = None) -> tuple[ServiceRuntime, NotificationService]:
        runtime, _ = build_notifications(s, clock=clock)
        service = NotificationService(runtime, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
        runtime.broker._subscribers.clear()  # replace the default handler with the one using the mock client
        service.register()
        return runtime, service

    command = Notify(**_envelope("send-notifications"), account_id="acct", status="completed", message="done")
    async with in_memory(build, subjects.NOTIFICATIONS_NOTIFIED, settings=settings) as (broker, _, captured):
        await send(broker, subjects.NOTIFICATIONS_NOTIFY, command)
    [event] = captured.on(subjects.NOTIFICATIONS_NOTIFIED)
    assert event["channels"] == ["log"] and "503" in event["errors"][0]
