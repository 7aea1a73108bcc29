"""The realized-gains query runs on a worker thread: the tax service's event loop stays free meanwhile."""

from __future__ import annotations

import asyncio
import threading

from contracts import encode
from contracts.queries import RealizedQuery
from services.tax.handlers import TaxService
from shared.bus.runtime import ServiceRuntime
from shared.settings import Settings

ROWS = [
    {"date": "2024-01-02", "account": "a", "account_type": "taxable", "symbol": "VTI", "action": "buy",
     "shares": "10", "price": "100"},
    {"date": "2024-03-04", "account": "a", "account_type": "taxable", "symbol": "VTI", "action": "sell",
     "shares": "4", "price": "90"},
]  # fmt: skip


async def test_realized_runs_off_the_event_loop_and_the_loop_keeps_ticking() -> None:
    service = TaxService(ServiceRuntime("tax", Settings()))
    threads: list[str] = []
    ticks = 0
    original = service.realized_sync

    def slow(query: RealizedQuery) -> object:
        threads.append(threading.current_thread().name)
        threading.Event().wait(0.3)  # a long computation (blocking)
        return original(query)

    service.realized_sync = slow  # type: ignore[method-assign]

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    result = await service.realized(encode(RealizedQuery(transactions=ROWS)))
    task.cancel()
    assert threads and threads[0].startswith("tax-realized")
    assert ticks >= 10  # the loop ran while the query computed
    assert isinstance(result, dict) and result["sales"][0]["gain"] == "-40.00"


def test_a_column_with_a_newline_is_one_bad_column_not_a_broken_csv() -> None:
    from services.tax.handlers import realized_rows_to_csv

    lines = realized_rows_to_csv([{"da\nte": "2024-01-02", "x": "1"}])
    assert lines[0] == '"da\nte",x\n'
