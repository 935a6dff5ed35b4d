"""``gello queue:health``: the readiness answer as an exit code, for process managers
without HTTP probes.

Exit 0: the backend answers and a live worker (matching ``--name``) has a fresh heartbeat.
Exit 1: the backend answers but no such worker is alive. Exit 2: the backend does not
answer. The printed JSON has the shape of the ``/readyz`` body.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer

from gello_cli.context import JsonOpt
from gello_cli.output import print_json

NO_WORKER = 1
BACKEND_DOWN = 2


def register(app: typer.Typer) -> None:
    app.command("queue:health")(health)


async def _check(name: str | None, any_worker: bool) -> tuple[int, dict[str, Any]]:
    from gello_queue import Queue
    from gello_queue.inspection import Inspector, uptime

    queue = Queue()
    try:
        report = await Inspector(queue).health()
    finally:
        await queue.close()
    if not report.up:
        return BACKEND_DOWN, {"status": "unhealthy", **report.body}
    body, now, warnings = report.body, report.now, report.warnings
    workers = [
        {
            "id": w.id,
            "name": w.name,
            "queue": ",".join(w.queues),
            "state": w.state,
            "processed": w.processed,
            "failed": w.failed,
            "busy": len(w.current_jobs),
            "concurrency": w.concurrency,
            "uptime": uptime(time.time() - w.started_at),
            "heartbeat_age_s": round(max(now - w.last_seen, 0.0), 3),
        }
        for w in report.workers
        if name is None or w.name.startswith(name)
    ]
    ok = any_worker or bool(workers)
    if warnings:
        body["warnings"] = warnings
    return (0 if ok else NO_WORKER), {
        "status": "healthy" if ok else "unhealthy",
        "workers": workers,
        **body,
    }


def health(
    name: Annotated[
        str | None, typer.Option("--name", help="Require a live worker whose name starts so.")
    ] = None,
    backend_only: Annotated[
        bool, typer.Option("--backend-only", help="Only check that the backend answers.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Exit 0 when the backend answers and a worker is alive; 1 no worker; 2 backend down."""
    code, body = asyncio.run(_check(name, backend_only))
    if as_json:
        print_json(body)
    else:
        workers = body.get("workers", [])
        if code == BACKEND_DOWN:
            typer.echo(f"unhealthy: backend does not answer ({body['backend']['error']})")
        elif code == NO_WORKER:
            wanted = f" named {name}*" if name else ""
            typer.echo(f"unhealthy: no live worker{wanted}; backend answers")
        else:
            sizes = ", ".join(f"{q['name']}={q['size']}" for q in body["queues"]) or "none"
            typer.echo(
                f"healthy: {len(workers)} live worker(s), queues {sizes}, "
                f"{body['failedJobs']} failed job(s)"
            )
        for warning in body.get("warnings", []):
            typer.echo(f"warning: {warning}")
    raise typer.Exit(code)
