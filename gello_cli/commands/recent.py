"""``queue:recent``: the completed-job history, newest first."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gello_cli.context import JsonOpt, with_inspector
from gello_cli.output import print_json, print_table, when


def register(app: typer.Typer) -> None:
    app.command("queue:recent")(recent)


def recent(
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only jobs of this name.")] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Only jobs carrying this tag (customer:42).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show (1 to 10000).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List completed jobs kept in the history, newest first: attempts, the worker that
    ran them, how long they waited and ran (QUEUE_KEEP_COMPLETED).

    With --tag, only the jobs that carried that tag."""
    from gello_queue import ConfigurationError
    from gello_queue.inspection import RECENT_MAX

    if not 1 <= limit <= RECENT_MAX:
        raise ConfigurationError(f"--limit must be 1 to {RECENT_MAX} rows, not {limit}")
    rows = with_inspector(lambda i: i.recent(queue=queue, name=name, limit=limit, tag=tag))
    if as_json:
        print_json([_as_dict(c) for c in rows])
        return
    print_recent(rows)


def _as_dict(c: Any) -> dict[str, Any]:
    data = {
        "id": c.id,
        "name": c.name,
        "queue": c.queue,
        "attempts": c.attempts,
        "worker": c.worker,
        "wait_s": round(c.wait_s, 6),
        "runtime_s": round(c.runtime_s, 6),
        "finished_at": c.finished_at,
    }
    if c.payload is not None:
        data["payload"] = c.payload
    if c.tags is not None:
        data["tags"] = c.tag_list
    return data


def print_recent(rows: list[Any]) -> None:
    """Completed jobs as a table; ids as their shortest distinct prefix (8 characters or
    more), which every command taking an id accepts."""
    from gello_queue.inspection import short_ids

    if not rows:
        typer.echo("No completed jobs kept.")
        return
    short = short_ids([c.id for c in rows])
    print_table(
        "Completed jobs",
        ["id", "job", "queue", "attempts", "worker", "wait", "run time", "finished at"],
        keep=("id",),
        rows=[
            (
                short[c.id],
                c.name,
                c.queue,
                c.attempts,
                c.worker,
                seconds(c.wait_s),
                seconds(c.runtime_s),
                when(c.finished_at),
            )
            for c in rows
        ],
    )


def seconds(span: float) -> str:
    """``12 ms``, ``3.4 s``, ``5m 02s``: a duration for a table."""
    if span < 1:
        return f"{span * 1000:.0f} ms"
    if span < 60:
        return f"{span:.1f} s"
    minutes, rest = divmod(int(span), 60)
    return f"{minutes}m {rest:02d}s"
