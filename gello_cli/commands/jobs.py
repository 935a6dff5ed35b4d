"""``queue:jobs``: the waiting, scheduled, running, failed and recently completed jobs a
filter selects, by tag (``--tag customer:42``) or in the dashboard's filter language."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gello_cli.context import JsonOpt, with_inspector
from gello_cli.output import print_json, print_table, when

STATES = ("pending", "scheduled", "reserved", "failed", "completed")


_AT_HEADER = {"failed": "Failed at", "completed": "Finished at"}


def register(app: typer.Typer) -> None:
    app.command("queue:jobs")(jobs)


def jobs(
    tag: Annotated[
        str | None, typer.Option("--tag", help="Only jobs carrying this tag (customer:42).")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help='The dashboard\'s filter language: queue:emails name:Invoice age:>1h "words".',
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows per state (1 to 1000).")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List the waiting, scheduled, running, failed and completed jobs that carry a tag or
    match a filter, with how many match in each state.

    Completed jobs are those the history keeps (QUEUE_KEEP_COMPLETED)."""
    from dataclasses import replace

    from gello_queue import ConfigurationError
    from gello_queue.inspection import FailedFilter

    if not 1 <= limit <= 1000:
        raise ConfigurationError(f"--limit must be 1 to 1000 rows, not {limit}")
    match = FailedFilter.parse(where or "")
    if tag is not None:
        match = replace(match, tag=tag)
    found = with_inspector(lambda i: _read(i, match, limit))
    if as_json:
        print_json(found)
        return
    for state in STATES:
        part = found[state]
        if "error" in part:
            typer.echo(f"{state}: {part['error']}")
            continue
        total = f"{'at least ' if not part['complete'] else ''}{part['count']}"
        rows = [
            (j["id"], j["name"], j["queue"], j["attempts"], when(j["at"]) if j["at"] else "-")
            for j in part["jobs"]
        ]
        if not rows:
            typer.echo(f"{state}: none")
            continue
        print_table(
            f"{state}: {total} (showing {len(rows)})",
            ["Id", "Job", "Queue", "Tries", _AT_HEADER.get(state, "Available")],
            rows,
            keep=["Id"],
        )


async def _read(inspector: Any, match: Any, limit: int) -> dict[str, Any]:
    """Each state's count and first ``limit`` jobs (or why the driver cannot tell)."""
    from gello_queue import GelloError, JobState
    from gello_queue.inspection import detail_of_record

    out: dict[str, Any] = {}
    for state in STATES[:3]:
        try:
            page = await inspector.jobs_matching(JobState(state), match, limit=limit)
        except GelloError as exc:  # a broker: it cannot list the messages it holds
            out[state] = {"error": str(exc)}
            continue
        out[state] = {
            "count": page.count,
            "complete": page.complete,
            "jobs": [
                {
                    "id": r.id,
                    "name": detail_of_record(r).name,
                    "queue": r.queue,
                    "attempts": r.attempts,
                    "at": r.available_at,
                }
                for r in page.jobs
            ],
        }
    failed = await inspector.failed_matching(match, limit=limit)
    out["failed"] = {
        "count": failed.count,
        "complete": failed.complete,
        "jobs": [
            {
                "id": f.id,
                "name": f.name,
                "queue": f.queue,
                "attempts": f.attempts,
                "at": f.failed_at,
            }
            for f in failed.jobs
        ],
    }
    try:
        done = await inspector.completed_matching(match, limit=limit)
    except GelloError as exc:  # a driver that keeps no history
        out["completed"] = {"error": str(exc)}
        return out
    out["completed"] = {
        "count": done.count,
        "complete": done.complete,
        "jobs": [
            {
                "id": c.id,
                "name": c.name,
                "queue": c.queue,
                "attempts": c.attempts,
                "at": c.finished_at,
            }
            for c in done.jobs
        ],
    }
    return out
