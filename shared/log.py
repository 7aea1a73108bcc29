"""structlog JSON logging; ``run_id`` and ``step`` are bound on every line of a step's handling."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

__all__ = ["bind_step", "configure_logging", "get_logger"]


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Configure structlog (and the stdlib root logger) for one process."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s", force=True)
    # nats-py warns on every filtered KV listing that servers before 2.10 may ignore filters; the
    # project needs 2.12 or newer (message schedules), so the warning says nothing here.
    logging.getLogger("nats.js.kv").setLevel(logging.ERROR)
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


@contextmanager
def bind_step(run_id: str, step: str, **extra: object) -> Iterator[None]:
    """Bind ``run_id`` and ``step`` (and ``extra``) to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(run_id=run_id, step=step, **extra)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
