"""Commands over the failed store: list, retry, forget, flush, prune."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gello_cli.context import ForceOpt, JsonOpt, confirm_or_exit, with_inspector
from gello_cli.output import print_json, print_table, when

if TYPE_CHECKING:
    from gello_queue.inspection import FailedFilter, Inspector

MAX_ROWS = 100_000
"""The longest listing; more is a job for --export."""


def register(app: typer.Typer) -> None:
    app.command("queue:failed")(failed)
    app.command("queue:retry")(retry)
    app.command("queue:retry-all")(retry_all)
    app.command("queue:forget")(forget)
    app.command("queue:flush")(flush)
    app.command("queue:prune-failed")(prune_failed)


def failed(
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue.")] = None,
    limit: Annotated[int, typer.Option("--limit", help=f"Rows to show (1 to {MAX_ROWS}).")] = 50,
    as_json: JsonOpt = False,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write every failed job (of --queue) to this JSONL file."),
    ] = None,
    reveal: Annotated[
        bool,
        typer.Option(
            "--reveal",
            help="Show payload fields named like secrets (password, token, api_key...) as"
            " they are, instead of ***, and decrypt encrypted payloads with this process's"
            " QUEUE_ENCRYPTION_KEY; with --export, keep them for an exact replay.",
        ),
    ] = False,
) -> None:
    """List failed jobs, newest first; or --export them all to a JSON-lines file."""
    from gello_queue import ConfigurationError
    from gello_queue.inspection import redact

    if export is not None:
        from gello_cli.commands.failed_io import export_to

        count = export_to(export, queue, reveal=reveal)
        typer.echo(f"Exported {count} failed job(s) to {export}.")
        return
    if not 1 <= limit <= MAX_ROWS:
        raise ConfigurationError(
            f"--limit must be 1 to {MAX_ROWS} rows, not {limit}: use --export to get them all"
        )
    rows = with_inspector(lambda i: i.failed(queue=queue, limit=limit))
    if as_json:
        from gello_queue import load_settings

        keyring = load_settings().keyring() if reveal else None
        print_json(
            [
                {
                    "id": f.id,
                    "queue": f.queue,
                    "name": f.name,
                    "attempts": f.attempts,
                    "failed_at": f.failed_at,
                    "exception": f.exception,
                    "message": f.message,
                    "payload": f.payload(keyring) if reveal else redact(f.payload()),
                }
                for f in rows
            ]
        )
        return
    print_failed(rows)


def print_failed(rows: list[Any]) -> None:
    """Print failed jobs as a table; ids as their shortest distinct prefix (8 characters
    or more), which every command taking an id accepts, so they stay whole when narrow."""
    from gello_queue.inspection import short_ids

    if not rows:
        typer.echo("No failed jobs.")
        return
    short = short_ids([f.id for f in rows])
    print_table(
        "Failed jobs",
        ["id", "job", "queue", "attempts", "failed at", "error"],
        keep=("id",),
        rows=[
            (
                short[f.id],
                f.name,
                f.queue,
                f.attempts,
                when(f.failed_at),
                f"{f.exception}: {f.message}"[:80],
            )
            for f in rows
        ],
    )


def retry(
    ids: Annotated[
        list[str],
        typer.Argument(
            metavar="ID...",
            help="Failed job ids (or unique prefixes of 8+ characters), or all.",
        ),
    ],
) -> None:
    """Put failed jobs back on their queues (queue:retry all: every failed job)."""
    if ids == ["all"]:
        retry_all()
        return

    async def resolve_and_retry(inspector: Any) -> int:
        done: int = await inspector.retry(await inspector.resolve_failed_ids(ids))
        return done

    done = with_inspector(resolve_and_retry)
    missing = len(ids) - done
    typer.echo(f"Retried {done} job(s)." + (f" {missing} id(s) not found." if missing else ""))
    if missing:
        raise typer.Exit(1)


def retry_all(
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue.")] = None,
) -> None:
    """Put every failed job (of one queue) back on its queue."""
    from gello_queue.inspection import FailedFilter

    match = FailedFilter(queue=queue)
    done = with_inspector(
        lambda i: run_in_steps(i, i.retry_matching_steps(match), "Retried", match)
    )
    typer.echo(f"Retried {done} job(s).")


def forget(
    job_id: Annotated[
        str, typer.Argument(metavar="ID", help="Failed job id (or a unique prefix of 8+).")
    ],
) -> None:
    """Delete one failed job."""

    async def resolve_and_forget(inspector: Any) -> bool:
        nonlocal job_id
        [job_id] = await inspector.resolve_failed_ids([job_id])
        found: bool = await inspector.forget(job_id)
        return found

    if not with_inspector(resolve_and_forget):
        typer.echo(f"error: no failed job with id {job_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Forgot failed job {job_id}.")


def flush(
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue.")] = None,
    force: ForceOpt = False,
) -> None:
    """Delete every failed job (of one queue)."""
    where = f" of queue {queue!r}" if queue else ""
    confirm_or_exit(f"Delete every failed job{where}?", force)
    from gello_queue.inspection import FailedFilter

    match = FailedFilter(queue=queue)
    done = with_inspector(
        lambda i: run_in_steps(i, i.purge_matching_steps(match), "Deleted", match)
    )
    typer.echo(f"Deleted {done} failed job(s).")


async def run_in_steps(
    inspector: Inspector, steps: AsyncIterator[int], verb: str, match: FailedFilter
) -> int:
    """Run a bulk action step by step; on a terminal, show how far it got (Ctrl-C stops
    it between steps: what is done stays done)."""
    shown = sys.stderr.isatty()
    total = ""
    if shown:
        tally = await inspector.tally_failed(match)
        total = f"{tally.count:,}" if tally.complete else f"at least {tally.count:,}"
    done = 0
    async for done in steps:
        if shown:
            sys.stderr.write(f"\r{verb} {done:,} / {total}")
            sys.stderr.flush()
    if shown:
        sys.stderr.write("\n")
    return done


def prune_failed(
    hours: Annotated[
        float, typer.Option("--hours", min=0, help="Delete those older than this.")
    ] = 24,
) -> None:
    """Delete failed jobs older than N hours."""
    done = with_inspector(lambda i: i.prune_failed(hours * 3600))
    typer.echo(f"Pruned {done} failed job(s) older than {hours:g} h.")
