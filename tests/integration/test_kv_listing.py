"""Listing KV keys by a subject pattern on a real server: every live key, none deleted or purged, and
never an empty answer for a bucket that holds matching keys (a watch's end marker could come first)."""

from __future__ import annotations

import nats
import pytest

from shared.bus import kv as kvops
from shared.testing import NatsServer

pytestmark = pytest.mark.integration


async def test_keys_matching_lists_every_live_key_of_the_pattern(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    try:
        bucket = await client.jetstream().create_key_value(bucket="listing", history=1)
        for i in range(250):
            await bucket.put(f"run.r{i:03d}", f"value {i}".encode())
        await bucket.put("active.r001", b"x")
        await bucket.put("active.r002", b"x")
        await bucket.delete("run.r007")
        await bucket.purge("run.r008")
        await bucket.delete("active.r002")

        for _ in range(20):  # the answer is exact every time, not only when timing is kind
            keys = await kvops.keys_matching(bucket, "run.*")
            assert len(keys) == 248 and "run.r007" not in keys and "run.r008" not in keys
            assert keys == sorted(keys)
        assert await kvops.keys_matching(bucket, "active.*") == ["active.r001"]
        assert await kvops.keys_matching(bucket, "nothing.*") == []
        entries = await kvops.live_entries(bucket, "run.*")
        assert entries["run.r010"] == b"value 10" and len(entries) == 248
    finally:
        await client.close()
