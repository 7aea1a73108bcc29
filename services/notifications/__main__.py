import asyncio

from services.notifications.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="notifications"))
    asyncio.run(runtime.run())
