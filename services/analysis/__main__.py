import asyncio

from services.analysis.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="analysis"))
    asyncio.run(runtime.run())
