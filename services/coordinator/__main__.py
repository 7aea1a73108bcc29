import asyncio

from services.coordinator.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="coordinator"))
    asyncio.run(runtime.run())
