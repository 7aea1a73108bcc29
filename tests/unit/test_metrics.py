"""Domain metrics: a finished run counts its status, trades and realized gains; a service's scrape
endpoint serves them; a taken port leaves the service running without one."""

from __future__ import annotations

import socket

import httpx
import msgspec
import pytest
from prometheus_client import REGISTRY

from contracts import ReportExecution
from shared.metrics import observe_finished_run, serve_metrics
from tests.unit.reports.sample import sample_report


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_executed_run_counts_trades_and_realized_gains() -> None:
    executed = msgspec.structs.replace(
        sample_report(),
        execution=ReportExecution(executed=True, dry_run=False, trades=[], total_cost=0, errors=[]),  # type: ignore[arg-type]
    )
    before = {
        "runs": _value("rebalancer_runs_total", status="completed"),
        "sells": _value("rebalancer_trades_total", side="sell", kind="executed"),
        "long_gain": _value("rebalancer_realized_dollars_total", term="long", kind="gain"),
        "short_loss": _value("rebalancer_realized_dollars_total", term="short", kind="loss"),
    }
    observe_finished_run("completed", executed)
    assert _value("rebalancer_runs_total", status="completed") == before["runs"] + 1
    assert _value("rebalancer_trades_total", side="sell", kind="executed") == before["sells"] + 2
    assert _value("rebalancer_realized_dollars_total", term="long", kind="gain") == pytest.approx(
        before["long_gain"] + 13.41
    )
    assert _value("rebalancer_realized_dollars_total", term="short", kind="loss") == pytest.approx(
        before["short_loss"] + 30.0
    )


def test_dry_run_counts_simulated_trades_and_no_gain() -> None:
    before_sim = _value("rebalancer_trades_total", side="buy", kind="simulated")
    before_gain = _value("rebalancer_realized_dollars_total", term="long", kind="gain")
    observe_finished_run("completed", sample_report())  # a dry run
    assert _value("rebalancer_trades_total", side="buy", kind="simulated") == before_sim + 2
    assert _value("rebalancer_realized_dollars_total", term="long", kind="gain") == before_gain


def test_scrape_endpoint_serves_the_registry_and_a_taken_port_is_not_fatal() -> None:
    port = _free_port()
    assert serve_metrics(port) == port
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "rebalancer_runs_total" in text
    assert serve_metrics(port) is None  # taken now: warned, not raised
    assert serve_metrics(None) is None and serve_metrics(0) is None
