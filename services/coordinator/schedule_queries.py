"""Cron schedules kept for the gateway: ``coordinator.v1.query.schedules`` (put, delete, list).

The coordinator owns the TIMERS stream (step deadlines and cron schedules); the gateway asks it here
instead of writing to the stream itself, so the gateway's NATS user has no right on TIMERS at all (a
publish there could roll up, that is purge, the whole stream)."""

from __future__ import annotations

from contracts import decode_as, subjects
from contracts.queries import ScheduleQuery, ScheduleReply
from shared.bus import schedules
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError

__all__ = ["register_schedule_queries"]


def register_schedule_queries(runtime: ServiceRuntime) -> None:
    async def answer(body: bytes) -> ScheduleReply:
        query = decode_as(body, ScheduleQuery)
        if query.action == "list":
            return ScheduleReply(schedules=await schedules.list_schedules(runtime.js))
        if query.action == "delete":
            found = [s for s in await schedules.list_schedules(runtime.js) if s.name == query.name]
            if found:
                await schedules.delete_schedule(runtime.js, query.name)
            return ScheduleReply(schedules=found)
        if query.request is None:
            raise InvalidInputError("a schedule needs the run's request")
        schedule = await schedules.put_schedule(
            runtime.js, name=query.name, cron=query.cron, request=query.request,
            now=runtime.clock.now(), created_by=query.created_by,
        )  # fmt: skip
        return ScheduleReply(schedules=[schedule])

    runtime.query(subjects.COORDINATOR_QUERY_SCHEDULES, answer)
