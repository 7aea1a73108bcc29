"""Execution service: orders to a broker (paper broker built in), fills, idempotency."""
