"""``gello queue:why ID``: where one job is and what it waits for."""

from __future__ import annotations

from typing import Annotated

import typer

from gello_cli.context import JsonOpt
from gello_cli.output import print_json


def register(app: typer.Typer) -> None:
    app.command("queue:why")(why)


def why(
    job_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="The job id (as dispatch returned it), or a unique prefix of 8+."
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Explain in plain words where a job is and what it waits for (exit 1 when no job has
    that id)."""
    from gello_cli.context import with_inspector, worker_hint
    from gello_queue.inspection import UNKNOWN

    hint = worker_hint()
    found = with_inspector(lambda inspector: inspector.why(job_id, hint))
    if as_json:
        print_json(found.to_json())
    else:
        typer.echo(found.text())
    if found.state == UNKNOWN:
        raise typer.Exit(1)  # scripts can tell an id that matches nothing
