"""Operator commands over queues: status, clear, pause, resume, restart, dispatch, migrate."""

from __future__ import annotations

import asyncio
import shlex
from typing import Annotated, Any

import orjson
import typer

from gello_cli.context import ForceOpt, JsonOpt, confirm_or_exit, import_app, with_inspector
from gello_cli.output import ago, print_json, print_table


def register(app: typer.Typer) -> None:
    app.command("queue:status")(status)
    app.command("queue:clear")(clear)
    app.command("queue:pause")(pause)
    app.command("queue:resume")(resume)
    app.command("queue:restart")(restart)
    app.command("queue:dispatch")(dispatch)
    app.command("queue:migrate")(migrate)


def status(as_json: JsonOpt = False) -> None:
    """Per queue: pending, scheduled, reserved, failed and wait; the live workers; the
    recent rescues of dead workers' jobs; and what the backend holds against the retention
    limits."""
    from gello_cli.commands.storage import render as render_storage
    from gello_cli.commands.storage import storage_facts
    from gello_queue.inspection import RECENT_EVENTS, Snapshot, heartbeat_age

    async def read(inspector: Any) -> tuple[Snapshot, list[str]]:
        snap = await inspector.snapshot(recent_events=RECENT_EVENTS)
        return snap, await inspector.server_warnings()

    snap, warnings = with_inspector(read)
    storage = storage_facts()
    if as_json:
        print_json(
            {
                "queues": {
                    q: {
                        "pending": c.pending,
                        "scheduled": c.scheduled,
                        "reserved": c.reserved,
                        "failed": c.failed,
                        "wait_s": round(snap.wait_s(q), 3),
                        "paused": q in snap.paused,
                    }
                    for q, c in snap.queues.items()
                },
                "workers": [
                    {
                        "id": w.id,
                        "name": w.name,
                        "queues": w.queues,
                        "state": w.state,
                        "concurrency": w.concurrency,
                        "busy": len(w.current_jobs),
                        "processed": w.processed,
                        "failed": w.failed,
                        "heartbeat_age_s": round(heartbeat_age(w, snap.taken_at), 3),
                    }
                    for w in snap.workers
                ],
                "events": [
                    {
                        "kind": e.kind,
                        "at": e.at,
                        "worker": e.worker,
                        "jobs": list(e.jobs),
                        "failed": list(e.failed),
                        "by": e.by,
                        "detail": e.detail,
                    }
                    for e in snap.events
                ],
                "storage": storage,
                "warnings": warnings,
            }
        )
        return
    render_status(snap)
    render_storage(storage)
    for warning in warnings:
        typer.echo(f"warning: {warning}")


def render_status(snap: Any, hint: Any = None) -> None:
    """Print the queue and worker tables of a snapshot, and how to start a worker for a
    queue nobody consumes (``hint``, a ``WorkerHint``: this project's by default)."""
    from gello_cli.context import worker_hint
    from gello_queue.inspection import event_line, heartbeat_age

    hint = hint or worker_hint()
    names = sorted(snap.queues)
    rows = [
        (
            q + (" (paused)" if q in snap.paused else ""),
            c.pending,
            c.scheduled,
            c.reserved,
            c.failed,
            f"{snap.wait_s(q):.1f}s",
        )
        for q, c in ((q, snap.queues[q]) for q in names)
    ]
    if rows:
        columns = ["queue", "pending", "scheduled", "reserved", "failed", "wait"]
        print_table("Queues", columns, rows)
    else:
        typer.echo("No jobs in any queue.")
    workers = [
        (
            w.name,
            ",".join(w.queues),
            w.state,
            f"{len(w.current_jobs)}/{w.concurrency}",
            w.processed,
            w.failed,
            ago(w.started_at, snap.taken_at),
            f"{heartbeat_age(w, snap.taken_at):.0f}s",
        )
        for w in snap.workers
    ]
    columns = ["worker", "queues", "state", "busy", "processed", "failed", "up", "heartbeat"]
    if workers:
        print_table("Workers", columns, workers)
    idle = snap.unconsumed()
    for q in idle:
        waiting = q.pending + q.scheduled
        typer.echo(f"Nobody consumes {q.name!r} ({waiting} waiting): run `{hint.command(q.name)}`")
    if not workers and not idle:
        typer.echo(f"No live workers: start one with `{hint.command()}`.")
    if snap.events:
        typer.echo("Recent rescues (their workers stopped answering):")
        for event in snap.events:
            typer.echo(f"  {event_line(event)}")


def clear(
    queue: Annotated[str | None, typer.Argument(help="Queue to clear (QUEUE_DEFAULT).")] = None,
    force: ForceOpt = False,
) -> None:
    """Delete the pending and scheduled jobs of a queue."""
    from gello_queue import load_settings

    name = queue or load_settings().queue_default
    confirm_or_exit(f"Delete every pending job of queue {name!r}?", force)
    cleared = with_inspector(lambda i: i.clear(name))
    typer.echo(f"Cleared {cleared} jobs from queue {name!r}.")


def pause(queue: Annotated[str, typer.Argument(help="Queue to pause.")]) -> None:
    """Stop workers from taking jobs from a queue."""
    with_inspector(lambda i: i.pause(queue))
    resume_command = f"gello queue:resume {shlex.quote(queue)}"
    typer.echo(f"Paused queue {queue!r}: workers skip it until `{resume_command}`.")


def resume(queue: Annotated[str, typer.Argument(help="Queue to resume.")]) -> None:
    """Let workers take jobs from a paused queue again."""
    with_inspector(lambda i: i.resume(queue))
    typer.echo(f"Resumed queue {queue!r}.")


def restart() -> None:
    """Ask every worker to exit after its current jobs (for deploys)."""
    with_inspector(lambda i: i.restart_workers())
    typer.echo("Restart signal sent: workers exit after their current jobs.")


def dispatch(
    name: Annotated[str, typer.Argument(help="Registered job name.")],
    payload: Annotated[str, typer.Option("--payload", help="Payload as a JSON object.")] = "{}",
    queue: Annotated[
        str | None, typer.Option("--queue", help="Queue (the job's own by default).")
    ] = None,
    delay: Annotated[
        float | None, typer.Option("--delay", min=0, help="Seconds to wait before it may run.")
    ] = None,
    app: Annotated[
        str | None, typer.Option("--app", help="Module that registers the jobs (GELLO_APP).")
    ] = None,
) -> None:
    """Dispatch a job by name with a JSON payload."""
    from gello_queue import PayloadValidationError, Queue, default_registry

    import_app(app)
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadValidationError(f"--payload is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadValidationError("--payload must be a JSON object like '{\"user_id\": 1}'")
    pending = default_registry.get(name).make(data).options(queue=queue, delay=delay)

    async def main() -> str:
        connection = Queue()
        try:
            return await connection.dispatch(pending)
        finally:
            await connection.close()

    typer.echo(asyncio.run(main()))


def migrate() -> None:
    """Create or upgrade the database tables (PostgreSQL; SQLite migrates itself)."""
    from gello_queue import Queue

    async def main() -> str:
        connection = Queue()
        driver = connection._factory()
        migrate_fn = getattr(driver, "migrate", None)
        if migrate_fn is None:
            return f"The {driver.name} driver needs no migration."
        try:
            version = await migrate_fn()
        finally:
            await driver.close()
        return f"Schema is at version {version}."

    typer.echo(asyncio.run(main()))
