"""Batch commands: ``queue:batches``, ``queue:batch``, ``queue:cancel-batch``,
``queue:retry-batch`` and ``queue:prune-batches``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from gello_cli.context import JsonOpt
from gello_cli.output import ago, print_json, print_table, when

T = TypeVar("T")

BatchId = Annotated[str, typer.Argument(help="The batch id (see queue:batches).")]


def register(app: typer.Typer) -> None:
    app.command("queue:batches")(batches)
    app.command("queue:batch")(batch)
    app.command("queue:cancel-batch")(cancel_batch)
    app.command("queue:retry-batch")(retry_batch)
    app.command("queue:prune-batches")(prune_batches)


def with_batches(action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action(batches)`` on the configured connection, then close it."""
    from gello_queue import Batches, Queue

    async def main() -> T:
        queue = Queue()
        try:
            return await action(Batches(queue))
        finally:
            await queue.close()

    return asyncio.run(main())


def _row(b: Any) -> dict[str, Any]:
    from gello_queue.inspection import batch_state, batch_status

    return {
        "id": b.id,
        "name": b.name,
        "state": batch_state(b).value,
        "has_failures": b.failed > 0,
        "status": batch_status(b),
        "total": b.total,
        "pending": b.pending,
        "processed": b.processed,
        "failed": b.failed,
        "percent": round(b.percent, 1),
        "created_at": b.created_at,
        "finished_at": b.finished_at,
        "cancelled_at": b.cancelled_at,
    }


def batches(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest batches shown.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Batches with their progress, newest first."""
    rows = [_row(b) for b in with_batches(lambda b: b.list(limit=limit))]
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("No batches.")
        return
    print_table(
        "Batches",
        ["id", "name", "state", "progress", "pending", "processed", "failed", "created"],
        [
            [
                r["id"],
                r["name"] or "-",
                r["status"],
                f"{r['percent']:g}% of {r['total']}",
                r["pending"],
                r["processed"],
                r["failed"],
                ago(r["created_at"]) + " ago",
            ]
            for r in rows
        ],
    )


def batch(batch_id: BatchId, as_json: JsonOpt = False) -> None:
    """One batch: progress, times and the ids of its failed jobs."""
    found = with_batches(lambda b: b.find(batch_id))
    row = {**_row(found), "failed_ids": list(found.failed_ids)}
    if as_json:
        print_json(row)
        return
    for key in ("id", "name", "status", "total", "pending", "processed", "failed", "percent"):
        typer.echo(f"{key:>10}: {row[key]}")
    typer.echo(f"{'created':>10}: {when(found.created_at)}")
    if found.finished_at is not None:
        typer.echo(f"{'finished':>10}: {when(found.finished_at)}")
    for job_id in found.failed_ids:
        typer.echo(f"{'failed job':>10}: {job_id}")


def cancel_batch(batch_id: BatchId) -> None:
    """Cancel a batch: its jobs that have not started are skipped."""
    with_batches(lambda b: b.cancel(batch_id))
    typer.echo(f"Cancelled batch {batch_id}.")


def retry_batch(batch_id: BatchId) -> None:
    """Retry the failed jobs of a batch (a batch cancelled by them goes on)."""
    count = with_batches(lambda b: b.retry(batch_id))
    typer.echo(f"Retried {count} failed job(s) of batch {batch_id}.")


def prune_batches(
    hours: Annotated[
        float, typer.Option("--hours", min=0, help="Delete batches finished this long ago.")
    ] = 24.0,
) -> None:
    """Delete batches that finished or were cancelled more than --hours ago."""
    count = with_batches(lambda b: b.prune(hours))
    typer.echo(f"Pruned {count} batch(es).")
