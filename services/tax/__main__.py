import asyncio

from services.tax.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="tax"))
    asyncio.run(runtime.run())
