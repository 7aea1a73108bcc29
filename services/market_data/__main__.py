import asyncio

from services.market_data.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="market_data"))
    asyncio.run(runtime.run())
