"""Reads shared inside one bundle's handling, and only there."""

from __future__ import annotations

import asyncio

from shared.bus.read_scope import forget, read_once, shared_reads


def test_a_key_is_read_once_inside_the_scope_and_every_time_outside() -> None:
    reads: list[str] = []

    async def read() -> int:
        reads.append("x")
        return len(reads)

    async def scenario() -> list[int]:
        seen = [await read_once("k", read), await read_once("k", read)]  # outside: two reads
        with shared_reads():
            seen += [await read_once("k", read), await read_once("k", read)]  # inside: one
            forget("k")  # written: read again
            seen.append(await read_once("k", read))
        seen.append(await read_once("k", read))  # the scope is over
        return seen

    assert asyncio.run(scenario()) == [1, 2, 3, 3, 4, 5]
    assert len(reads) == 5
