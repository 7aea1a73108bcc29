import asyncio

from services.portfolio.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="portfolio"))
    asyncio.run(runtime.run())
