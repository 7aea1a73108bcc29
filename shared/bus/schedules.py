"""Cron schedules of runs, kept by the server itself (JetStream message schedules in the TIMERS stream).

A schedule is one message at ``run.v1.timer.schedule.cron.<name>`` with the headers ``Nats-Schedule``
(the cron expression, six fields with seconds, or ``@every 1h``, ``@daily``...) and
``Nats-Schedule-Target``. The server publishes it to ``run.v1.timer.fire.cron.<name>`` at each tick; the
coordinators share one durable consumer of that subject, so each tick reaches one of them, which starts
the run under an id derived from the tick's stream sequence: a redelivered tick is the same run. That is
at-most-once firing across any number of coordinator replicas, with no leader election.
"""

from __future__ import annotations

import re
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from contracts import RebalanceRequest, ScheduledRun, decode_as, encode, subjects
from shared.errors import InvalidInputError

__all__ = ["FIRED_TTL", "NAME_PATTERN", "delete_schedule", "list_schedules", "put_schedule"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIRED_TTL = "1h"  # a fired tick is consumed within seconds; it then expires from the stream


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidInputError(f"schedule name {name!r}: use 1 to 64 letters, digits, '-' or '_'")


async def put_schedule(
    js: JetStreamContext, *, name: str, cron: str, request: RebalanceRequest, now: datetime, created_by: str = ""
) -> ScheduledRun:
    """Create or replace schedule ``name``; the server validates ``cron`` (a bad pattern is refused)."""
    _check_name(name)
    schedule = ScheduledRun(
        run_id=f"schedule:{name}",
        message_id=f"schedule:{name}:{now.isoformat()}",
        occurred_at=now,
        name=name,
        cron=cron,
        request=request,
        created_by=created_by,
    )
    headers = {
        "Nats-Schedule": cron,
        "Nats-Schedule-Target": subjects.schedule_fire(name),
        "Nats-Schedule-TTL": FIRED_TTL,
    }
    try:
        await js.publish(subjects.schedule_definition(name), encode(schedule), headers=headers)
    except APIError as exc:
        if exc.code == 400:
            raise InvalidInputError(f"cron {cron!r}: {exc.description}") from None
        raise
    return schedule


async def delete_schedule(js: JetStreamContext, name: str) -> bool:
    """Remove schedule ``name``; ``False`` when there was none."""
    _check_name(name)
    if not any(s.name == name for s in await list_schedules(js)):
        return False
    await js.purge_stream(subjects.STREAM_TIMERS, subject=subjects.schedule_definition(name))
    return True


async def list_schedules(js: JetStreamContext) -> list[ScheduledRun]:
    info = await js.stream_info(subjects.STREAM_TIMERS, subjects_filter=subjects.SCHEDULE_DEFINITIONS)
    found = []
    for subject in sorted(info.state.subjects or {}):
        try:
            message = await js.get_last_msg(subjects.STREAM_TIMERS, subject)
        except NotFoundError:
            continue
        if message.data:
            found.append(decode_as(message.data, ScheduledRun))
    return found
