"""Declare every stream, consumer and KV bucket once, as the NATS ``provisioner`` user.

    NATS_URL=nats://nats:4222 NATS_USER=provisioner NATS_PASSWORD=... python deploy/provision.py

Runs :func:`shared.bus.provisioning.provision` (idempotent: creates what is missing, updates the
rest) with the same settings as the services (``STREAM_REPLICAS``, ``EVT_MAX_AGE_DAYS``,
``ACK_WAIT_SECONDS``, ``MAX_DELIVER``, ``DUPLICATE_WINDOW_SECONDS``), then exits. The k8s Job
``provision`` and the compose service ``provision`` run it before the services start; the services
themselves run as least-privilege users that may only bind to what exists.
"""

from __future__ import annotations

import asyncio
import sys

import nats

from shared.bus.provisioning import provision
from shared.bus.runtime import tls_context
from shared.settings import Settings

ATTEMPTS = 60
DELAY_SECONDS = 2.0


async def main() -> int:
    settings = Settings(service_name="provision")
    servers = [url.strip() for url in settings.nats_url.split(",") if url.strip()]
    auth: dict[str, object] = (
        {"user": settings.nats_user, "password": settings.nats_password or ""} if settings.nats_user else {}
    )
    tls = tls_context(settings)
    if tls is not None:
        auth["tls"] = tls
    for attempt in range(1, ATTEMPTS + 1):
        try:
            nc = await nats.connect(servers, name="rebalancer-provision", connect_timeout=5, **auth)
            try:
                await provision(nc.jetstream(timeout=30), settings)
            finally:
                await nc.drain()
        except Exception as exc:  # the server or its JetStream cluster may still be starting
            print(f"provision: attempt {attempt}/{ATTEMPTS} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            await asyncio.sleep(DELAY_SECONDS)
            continue
        print(f"provision: streams, consumers and buckets declared (replicas={settings.stream_replicas})")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
