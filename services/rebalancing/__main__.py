import asyncio

from services.rebalancing.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="rebalancing"))
    asyncio.run(runtime.run())
