"""``rebalance dlq list|show|replay`` against a real nats-server: a request dead-lettered while the
coordinator could not handle it is listed with its reason, shown, and replayed into a run that completes."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from contracts import RebalanceRequest, RebalanceRequested, encode, subjects
from shared.bus.dlq import DLQ_DELIVERIES_HEADER, DLQ_REASON_HEADER, DLQ_SERVICE_HEADER, DLQ_SUBJECT_HEADER
from shared.testing.system import InProcessSystem

pytestmark = pytest.mark.integration


async def _cli(system: InProcessSystem, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    env = {"NATS_URL": system.settings.nats_url, "NATS_USER": "", "NATS_PASSWORD": ""}
    result = await asyncio.to_thread(runner.invoke, app, ["dlq", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


async def test_list_show_and_replay_a_dead_letter(system: InProcessSystem) -> None:
    js = system.client.jetstream()
    await js.publish(subjects.PORTFOLIO_LOAD, b"not json", headers={"Nats-Msg-Id": "junk-1"})
    request = RebalanceRequested(run_id="dlq-run-1", message_id="dlq-run-1", occurred_at=system.clock.now(),
                                 request=RebalanceRequest(account_id="demo", dry_run=True))  # fmt: skip
    await js.publish(  # as the coordinator dead-letters a request it failed to handle five times
        subjects.dlq_subject(subjects.REBALANCE_REQUESTED),
        encode(request),
        headers={
            DLQ_REASON_HEADER: "failed 5 times: ConnectionError: run store unreachable",
            DLQ_SUBJECT_HEADER: subjects.REBALANCE_REQUESTED,
            DLQ_SERVICE_HEADER: "coordinator",
            DLQ_DELIVERIES_HEADER: "5",
        },
    )
    async with asyncio.timeout(20):  # the junk command reaches the DLQ too
        while (await js.stream_info(subjects.STREAM_DLQ)).state.messages < 2:
            await asyncio.sleep(0.05)

    code, out, _ = await _cli(system, "list", "--json")
    assert code == 0
    letters = json.loads(out)
    by_subject = {letter["subject"]: letter for letter in letters}
    assert "undecodable portfolio.v1.cmd.load message" in by_subject[subjects.PORTFOLIO_LOAD]["reason"]
    assert by_subject[subjects.PORTFOLIO_LOAD]["service"] == "portfolio"
    dead = by_subject[subjects.REBALANCE_REQUESTED]
    code, out, _ = await _cli(system, "list")
    assert code == 0 and "run store unreachable" in out and str(dead["id"]) in out

    code, out, _ = await _cli(system, "show", str(dead["id"]))
    assert code == 0 and json.loads(out)["body"] == encode(request).decode()

    code, out, _ = await _cli(system, "replay", str(dead["id"]))
    assert code == 0 and f"dead letter {dead['id']} published again" in out
    record = await system.wait_for_run("dlq-run-1")
    assert record.status == "completed", record.error
    code, out, _ = await _cli(system, "list", "--json")
    assert [letter["subject"] for letter in json.loads(out)] == [subjects.PORTFOLIO_LOAD]  # replayed: removed


async def test_an_unknown_id_or_an_unreachable_server_exits_2(system: InProcessSystem) -> None:
    code, _, err = await _cli(system, "show", "999")
    assert code == 2 and "no dead letter 999 in stream DLQ" in err
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, app, ["dlq", "list"], env={"NATS_URL": "nats://127.0.0.1:1", "NATS_USER": ""}
    )
    assert result.exit_code == 2 and "NATS at nats://127.0.0.1:1" in result.stderr
