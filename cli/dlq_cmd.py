"""``rebalance dlq list|show ID|replay ID``: the dead-letter queue, straight over NATS.

It connects to ``NATS_URL`` (with ``NATS_USER``/``NATS_PASSWORD`` when set: a user that may read stream
``DLQ``, delete its messages and publish to the original subjects, such as ``provisioner``). A dead
letter's ID is its sequence in stream ``DLQ``. ``replay`` publishes the original message again to its
original subject and removes it from the DLQ (``--keep`` leaves it). Exit 2 on an unknown ID or an
unreachable server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import nats
import typer
from nats.aio.client import Client

from shared.bus.dlq_admin import DeadLetter, dead_letter_by_id, dead_letters, replay_dead_letter
from shared.errors import InvalidInputError
from shared.settings import Settings

__all__ = ["register"]

T = TypeVar("T")
dlq_app = typer.Typer(help="The dead-letter queue: messages a service could not handle, with the reason.")


def _fail(message: str) -> None:
    typer.echo(f"rebalance dlq: {message}", err=True)
    raise typer.Exit(code=2)


async def _with_nats(url: str | None, act: Callable[[Client], Awaitable[T]]) -> T:
    settings = Settings()
    servers = [u.strip() for u in (url or settings.nats_url).split(",") if u.strip()]
    auth = {"user": settings.nats_user, "password": settings.nats_password or ""} if settings.nats_user else {}

    async def quiet(exc: Exception) -> None:  # the failure is reported once, below, not logged per attempt
        return None

    async with asyncio.timeout(10):
        nc = await nats.connect(
            servers, connect_timeout=3, max_reconnect_attempts=1, allow_reconnect=False, error_cb=quiet, **auth
        )
    try:
        return await act(nc)
    finally:
        await nc.close()


def _run(url: str | None, act: Callable[[Client], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_with_nats(url, act))
    except InvalidInputError as exc:  # the error tree's one mapping at the CLI: exit 2 (NotFoundError too)
        _fail(exc.message)
    except (OSError, TimeoutError, nats.errors.Error) as exc:
        _fail(f"NATS at {url or Settings().nats_url}: {type(exc).__name__}: {exc}")
    raise AssertionError("unreachable")


def _as_json(letter: DeadLetter) -> dict[str, object]:
    return {
        "id": letter.id,
        "subject": letter.subject,
        "reason": letter.reason,
        "service": letter.service,
        "deliveries": letter.deliveries,
        "body": letter.body.decode("utf-8", errors="replace"),
    }


Url = Annotated[str | None, typer.Option("--nats-url", envvar="NATS_URL", help="default: NATS_URL")]


@dlq_app.command("list")
def list_(
    limit: Annotated[int, typer.Option("--limit", help="the newest N dead letters")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    url: Url = None,
) -> None:
    """The newest dead letters: ID, original subject, the service that gave up, the reason."""
    letters = _run(url, lambda nc: dead_letters(nc.jetstream(), limit=limit))
    if as_json:
        typer.echo(json.dumps([_as_json(letter) for letter in letters], indent=2))
        return
    if not letters:
        typer.echo("the DLQ is empty")
    for letter in letters:
        typer.echo(f"{letter.id:>6}  {letter.subject:<32} {letter.service:<14} {letter.reason[:160]}")


@dlq_app.command("show")
def show(
    dead_letter_id: Annotated[int, typer.Argument(metavar="ID", help="the dead letter's id (from list)")],
    url: Url = None,
) -> None:
    """One dead letter: its headers and the original message."""
    letter = _run(url, lambda nc: dead_letter_by_id(nc.jetstream(), dead_letter_id))
    typer.echo(json.dumps(_as_json(letter), indent=2))


@dlq_app.command("replay")
def replay(
    dead_letter_id: Annotated[int, typer.Argument(metavar="ID", help="the dead letter's id (from list)")],
    keep: Annotated[bool, typer.Option("--keep", help="leave it in the DLQ too")] = False,
    url: Url = None,
) -> None:
    """Publish a dead letter again to its original subject (after the cause is fixed)."""
    seq = _run(url, lambda nc: replay_dead_letter(nc.jetstream(), dead_letter_id, keep=keep))
    typer.echo(f"dead letter {dead_letter_id} published again (stream sequence {seq})")


def register(app: typer.Typer) -> None:
    """Attach ``rebalance dlq`` to the main app."""
    app.add_typer(dlq_app, name="dlq")
