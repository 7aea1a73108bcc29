"""Codec choice: msgspec vs pydantic v2 on a 150-lot portfolio message (encode + decode round trip).

Prints microseconds per round trip for both; the bus uses the faster one (msgspec, see contracts/codec.py).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
from pydantic import BaseModel

from contracts import AccountSnapshot, Lot, PortfolioLoaded, decode, encode


def _message() -> PortfolioLoaded:
    lots = [
        Lot(
            lot_id=f"lot-{i}",
            symbol=("VTI", "BND", "VEA", "VNQ", "AGG")[i % 5],
            shares=Decimal(10 + i),
            cost_basis=Decimal(f"{1000 + i * 37}.25"),
            acquired=date(2020 + i % 5, 1 + i % 12, 1 + i % 28),
        )
        for i in range(150)
    ]
    account = AccountSnapshot(account_id="bench", household_id="h", lots=lots, cash=Decimal("1234.56"))
    return PortfolioLoaded(
        run_id="r", message_id="r:load-portfolio:1:result", occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
        step="load-portfolio", account=account,
    )  # fmt: skip


class _PLot(BaseModel):
    lot_id: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal
    acquired: date
    holding_period_start: date | None = None
    wash_sale_adjustment: Decimal = Decimal(0)


class _PAccount(BaseModel):
    account_id: str
    household_id: str
    cash: Decimal
    lots: list[_PLot]


class _PLoaded(BaseModel):
    """The same message as a pydantic v2 model (the alternative codec)."""

    schema_: str = "portfolio.loaded.v1"
    run_id: str
    message_id: str
    occurred_at: datetime
    step: str
    attempt: int = 1
    account: _PAccount


def _per_call(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    message = _message()
    data = encode(message)
    model = _PLoaded.model_validate(msgspec.to_builtins(message))
    n = 2000
    ms = _per_call(lambda: decode(encode(message)), n)
    pd = _per_call(lambda: _PLoaded.model_validate_json(model.model_dump_json()), n // 4)
    print(f"150-lot PortfolioLoaded, {len(data):,} bytes of JSON")
    print(f"msgspec  round trip: {ms:8.1f} µs")
    print(f"pydantic round trip: {pd:8.1f} µs  ({pd / ms:.1f}x msgspec)")


if __name__ == "__main__":
    main()
