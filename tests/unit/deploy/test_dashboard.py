"""The shipped Grafana dashboard reads only metrics the processes really expose."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import shared.metrics  # noqa: F401  (registers the domain metrics)

MONITORING = Path(__file__).resolve().parents[3] / "deploy" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "provisioning" / "dashboards" / "rebalancer.json"
DATASOURCE = MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml"

_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _exposed_sample_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        for suffix in _SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def _expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_metric_on_the_dashboard_is_exposed() -> None:
    exposed = _exposed_sample_names()
    used = {name for expr in _expressions() for name in re.findall(r"\b(rebalancer_[a-z_]+)", expr)}
    assert used, "the dashboard queries no rebalancer metric"
    assert used <= exposed, f"dashboard queries metrics nobody exposes: {sorted(used - exposed)}"


def test_the_dashboard_covers_runs_steps_trades_and_the_dlq() -> None:
    text = " ".join(_expressions())
    for metric in ("rebalancer_runs_total", "rebalancer_step_seconds_bucket", "rebalancer_trades_total",
                   "rebalancer_dlq_messages_total"):  # fmt: skip
        assert metric in text


def test_panels_use_the_provisioned_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    uid = re.search(r"uid:\s*(\S+)", DATASOURCE.read_text())
    assert uid is not None
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {uid.group(1)}
