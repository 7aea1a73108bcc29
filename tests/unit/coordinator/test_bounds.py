"""Numbers from outside are bounded: in the request contract, and again where the saga computes with them."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from contracts import MAX_APPROVAL_TIMEOUT_SECONDS, ContractError, RebalanceRequest, decode_as
from services.coordinator.domain import resume_effects
from tests.unit.coordinator.helpers import POLICY, Scenario, drive


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("approval_timeout_seconds", 1e12),
        ("approval_timeout_seconds", 0.0),
        ("approval_timeout_seconds", float("inf")),
        ("max_trade_amount", Decimal("1e13")),
        ("max_trade_amount", Decimal("-5")),
        ("withdraw_amount", Decimal("NaN")),
        ("exclude_symbols", ["X"] * 501),
        ("exclude_symbols", ["A" * 17]),
    ],
)
def test_the_request_contract_refuses_numbers_no_run_could_use(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        RebalanceRequest(account_id="demo", **{field: value})  # type: ignore[arg-type]


def test_a_decoded_request_names_the_field() -> None:
    with pytest.raises(
        ContractError, match=r"approval_timeout_seconds: must be more than 0 and at most 2.592e\+06, got 1e\+12"
    ):
        decode_as(b'{"account_id":"demo","approval_timeout_seconds":1e12}', RebalanceRequest)
    ok = decode_as(b'{"account_id":"demo","approval_timeout_seconds":2592000}', RebalanceRequest)
    assert ok.approval_timeout_seconds == MAX_APPROVAL_TIMEOUT_SECONDS


def test_an_enormous_approval_timeout_never_overflows_the_deadline() -> None:
    """Whatever reaches the saga (here the deployment's default), the deadline is computed, capped."""
    waiting = drive(Scenario(request_extra={"require_approval": True}), stop_before="approval")[-1]
    huge = replace(POLICY, approval_timeout_seconds=1e12)
    [deadline] = [t for t in resume_effects(waiting, waiting.updated_at, huge).timers if t.message.step == "approval"]
    started = waiting.step("approval").started_at
    assert started is not None and (deadline.at - started).total_seconds() == MAX_APPROVAL_TIMEOUT_SECONDS
