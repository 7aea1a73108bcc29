"""Test support shared by every test tier: a real nats-server on a random port."""

from shared.testing.nats_server import NatsServer, nats_server_binary

__all__ = ["NatsServer", "nats_server_binary"]
