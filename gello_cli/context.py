"""What every command shares: the common options, the application import, the inspector.

Commands import this module and ``gello_cli.app`` imports the commands, so the arrows
point one way: no command reaches back into the Typer application.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

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


def import_app(module: str | None) -> None:
    """Import the application module that registers its jobs (``--app`` / ``GELLO_APP``)."""
    from gello_queue import ConfigurationError

    name = module or os.environ.get("GELLO_APP")
    if not name:
        return
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import app module {name!r} ({exc}): check --app / GELLO_APP "
            "and run from the project directory"
        ) from None
