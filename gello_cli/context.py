"""What every command shares: the common options, the application import, the inspector.

Commands import this module and ``gello_cli.app`` imports the commands, so the arrows
point one way: no command reaches back into the Typer application.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from gello_queue.inspection import AppLocation, WorkerHint

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ForceOpt = Annotated[bool, typer.Option("--force", "-y", help="Do not ask.")]


def confirm_or_exit(question: str, force: bool) -> None:
    """Ask ``question`` before a deletion, unless ``force``; anything but yes (no answer
    at all, as in a script) exits 1 with one line saying how to skip the question."""
    if force:
        return
    try:
        if typer.confirm(question):
            return
    except typer.Abort:
        typer.echo()  # end the prompt's line: standard input had no answer
    typer.echo("error: nothing deleted; pass --force (-y) to delete without asking", err=True)
    raise typer.Exit(1)


def with_inspector(action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action(inspector)`` on the configured connection, then close it."""
    from gello_queue import Queue
    from gello_queue.inspection import Inspector

    async def main() -> T:
        queue = Queue()
        try:
            return await action(Inspector(queue))
        finally:
            await queue.close()

    return asyncio.run(main())


def import_app(module: str | None) -> AppLocation:
    """Import the application module that registers the jobs, found by ``find_app``
    (``--app``, ``GELLO_APP``, ``[tool.gello] app``); return where it was found, with
    ``module`` None when no place names one.

    Raises:
        ConfigurationError: the module cannot be imported (the message says why).
    """
    from gello_cli.app_import import import_located
    from gello_queue.inspection import find_app

    found = find_app(module)
    if found.module is not None:
        import_located(found)
    return found


def worker_hint(app: str | None = None) -> WorkerHint:
    """How to start a worker for this project: its app module (``app`` or found by
    ``find_app``) and its connection (``QUEUE_DRIVER``; none when ``QUEUE_URL`` names it,
    since the worker reads the same variable)."""
    from gello_queue import load_settings
    from gello_queue.inspection import WorkerHint, find_app

    settings = load_settings()
    return WorkerHint(
        app=app or find_app().module,
        connection=None if settings.queue_url else settings.queue_driver,
    )
