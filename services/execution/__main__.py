import asyncio

from services.execution.main import build
from shared.settings import Settings

if __name__ == "__main__":
    runtime, _ = build(Settings(service_name="execution"))
    asyncio.run(runtime.run())
