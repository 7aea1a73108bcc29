"""What a notification says and where it goes (pure)."""

from __future__ import annotations

from typing import Any

from contracts import Notify, to_builtins

__all__ = ["webhook_payload"]


def webhook_payload(command: Notify) -> dict[str, Any]:
    """The JSON body posted to a webhook: the message, the status and the report."""
    return {
        "event": f"portfolio.rebalance.{command.status}",
        "runId": command.run_id,
        "accountId": command.account_id,
        "status": command.status,
        "message": command.message,
        "report": to_builtins(command.report) if command.report is not None else None,
    }
