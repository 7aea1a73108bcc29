"""Wait (bounded) until a key written by another service appears: the gateway answers 202 only once
any of its replicas can answer for what it accepted."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["until_stored"]


async def until_stored(watcher: Any, seconds: float) -> bool:
    """Wait (bounded) until the watched key has a value (the coordinator has stored the run or batch);
    ``False`` when it has not yet (the coordinator is down or busy: it starts when it is back)."""
    try:
        async with asyncio.timeout(seconds):
            async for entry in watcher:
                if entry is not None and entry.value:
                    return True
    except TimeoutError:
        return False
    return False
