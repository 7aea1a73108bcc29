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


def test_a_derived_value_is_computed_once_inside_the_scope() -> None:
    from shared.bus.read_scope import computed_once

    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert [computed_once("d", compute), computed_once("d", compute)] == [1, 2]
    with shared_reads():
        assert [computed_once("d", compute), computed_once("d", compute), computed_once("e", compute)] == [3, 3, 4]
