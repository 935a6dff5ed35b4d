"""``queue:tags``: the monitored tags with their jobs' counts; ``--monitor`` and
``--unmonitor`` change them (as Horizon's Monitoring screen)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gello_cli.context import JsonOpt, with_inspector
from gello_cli.output import print_json, print_table


def register(app: typer.Typer) -> None:
    app.command("queue:tags")(tags)


def tags(
    monitor: Annotated[
        str | None,
        typer.Option("--monitor", help="Monitor this tag: keep its completed jobs longer."),
    ] = None,
    unmonitor: Annotated[
        str | None, typer.Option("--unmonitor", help="Stop monitoring this tag.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the monitored tags with how many of their jobs are completed, failed and
    waiting; --monitor and --unmonitor change them.

    A monitored tag's completed jobs are kept QUEUE_KEEP_MONITORED_HOURS, past
    QUEUE_KEEP_COMPLETED."""
    if monitor is not None or unmonitor is not None:
        for line in with_inspector(lambda i: _change(i, monitor, unmonitor)):
            typer.echo(line)
        return
    counts = with_inspector(_read)
    if as_json:
        print_json([_as_dict(c) for c in counts])
        return
    if not counts:
        typer.echo("No monitored tags. Monitor one with: gello queue:tags --monitor customer:42")
        return
    print_table(
        "Monitored tags",
        ["Tag", "Completed", "Failed", "Waiting"],
        [(c.tag, _count(c.completed), c.failed, _count(c.waiting)) for c in counts],
        keep=["Tag"],
    )


async def _change(inspector: Any, monitor: str | None, unmonitor: str | None) -> list[str]:
    lines = []
    if monitor is not None:
        changed = await inspector.monitor_tag(monitor)
        lines.append(f"{monitor}: {'now monitored' if changed else 'already monitored'}")
    if unmonitor is not None:
        changed = await inspector.unmonitor_tag(unmonitor)
        lines.append(f"{unmonitor}: {'no longer monitored' if changed else 'was not monitored'}")
    return lines


async def _read(inspector: Any) -> list[Any]:
    return [await inspector.tag_counts(tag) for tag in await inspector.monitored_tags()]


def _count(n: int | None) -> str:
    return "-" if n is None else str(n)


def _as_dict(c: Any) -> dict[str, Any]:
    return {
        "tag": c.tag,
        "completed": c.completed,
        "failed": c.failed,
        "waiting": c.waiting,
        "complete": c.complete,
    }
