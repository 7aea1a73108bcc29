"""One casing on the HTTP API: camelCase keys, and no bus envelope internals (``schema``,
``message_id``, ``run_id``...) in what echoes a request or a schedule back."""

from __future__ import annotations

from typing import Any

from contracts import RebalanceRequest, ScheduledRun, to_builtins

__all__ = ["camel", "camel_keys", "request_view", "schedule_view"]


def camel(key: str) -> str:
    """``max_trade_amount`` -> ``maxTradeAmount`` (keys without ``_`` unchanged: symbols, asset classes)."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(value: Any) -> Any:
    """``value`` with every dict key camelCased, recursively."""
    if isinstance(value, dict):
        return {camel(k) if isinstance(k, str) else k: camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def request_view(request: RebalanceRequest) -> dict[str, Any]:
    """A run's request as the HTTP body that starts one (``accountId``, ``dryRun``, ...)."""
    body: dict[str, Any] = camel_keys(to_builtins(request))
    return body


def schedule_view(schedule: ScheduledRun) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "cron": schedule.cron,
        "createdBy": schedule.created_by,
        "createdAt": schedule.occurred_at.isoformat().replace("+00:00", "Z"),
        "request": request_view(schedule.request),
    }
