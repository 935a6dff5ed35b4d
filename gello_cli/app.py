"""The ``gello`` Typer application and its error handling.

Every ``GelloError`` becomes one line on standard error and exit code 1; tracebacks are
for bugs, not for wrong input.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from gello_cli import demo
from gello_cli.commands import failed, manage, work
from gello_cli.help import GelloGroup, arrange

app = typer.Typer(
    name="gello",
    cls=GelloGroup,
    help="gello: run workers and manage queues.",
    no_args_is_help=True,
    # --install-completion / --show-completion: Typer's completion for bash, zsh, fish
    # and PowerShell.
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"gello {version('gello')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print gello's version and exit."
        ),
    ] = False,
    show_traceback: Annotated[
        bool,
        typer.Option("--traceback", help="Show the full traceback of an error in the app module."),
    ] = False,
) -> None:
    """gello: run workers and manage queues."""
    from gello_cli import app_import

    app_import.show_traceback = show_traceback


work.register(app)
manage.register(app)
failed.register(app)
demo.register(app)
importlib.import_module("gello_cli.commands.monitor").register(app)
# Observability and operations: diagnosis, health, failed-store import/export.
for _module in (
    "why",
    "health",
    "failed_io",
    "storage",
    "stats",
    "recent",
    "check",
    "jobs",
    "tags",
):
    importlib.import_module(f"gello_cli.commands.{_module}").register(app)
# Orchestration: batches and cron schedules.
for _module in ("batches", "schedule"):
    importlib.import_module(f"gello_cli.commands.{_module}").register(app)
arrange(app)


def main() -> None:
    """Console entry point."""
    from gello_queue import GelloError
    from gello_queue.inspection import configure_logging, redact_url

    # Log events go to standard error in every command, so --json output stays parseable;
    # queue:work configures its own format and level on top.
    configure_logging("auto", level="warning")
    try:
        app()
    except GelloError as exc:
        typer.echo(f"error: {redact_url(str(exc))}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
