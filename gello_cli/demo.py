"""``gello demo``: the main job on the embedded default, with nothing to set up.

Dispatches example jobs to a fresh SQLite file, runs a worker over them with its live log
(one job succeeds at once, one fails and succeeds on retry, one ends in the failed store),
then prints the queue status and the failed jobs.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Annotated

import typer

from gello_queue import Queue, Worker
from gello_queue.inspection import Inspector, WorkerHint, configure_logging

DEMO_APP = "gello_cli.demo_jobs"
"""The demo's app module: its jobs, for the demo's worker and the one it suggests."""
QUEUES = "payments,emails,default"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    database: Annotated[
        Path, typer.Option("--database", help="SQLite file to use (recreated).")
    ] = Path("gello-demo.db"),
) -> None:
    """Run the example jobs on a fresh SQLite file and show the outcome."""
    from gello_cli.commands.failed import print_failed
    from gello_cli.commands.manage import render_status
    from gello_cli.demo_jobs import ChargeCard, GenerateReport, SendWelcomeEmail

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    configure_logging("console")
    url = f"sqlite:///{database.resolve()}"
    env = f"QUEUE_URL={shlex.quote(url)}"
    hint = WorkerHint(app=DEMO_APP, url=url)
    queue = Queue(url)

    async def main() -> None:
        await queue.bulk(
            [
                SendWelcomeEmail.make(user_id=1, email="ada@example.com"),
                SendWelcomeEmail.make(user_id=2, email="grace@example.com"),
                GenerateReport.make(report_id=7),
                ChargeCard.make(order_id=42, cents=1999),
            ]
        )
        typer.echo(f"Dispatched 4 jobs to {database}; starting a worker.\n")
        worker = Worker(
            QUEUES.split(","),
            connection=queue,
            concurrency=4,
            stop_when_empty=True,
            sleep_s=0.1,
        )
        await worker.start()
        inspector = Inspector(queue)
        typer.echo("")
        render_status(await inspector.snapshot(), hint)
        print_failed(await inspector.failed())
        await queue.close()

    asyncio.run(main())
    typer.echo(
        "\nRetry the failed job, then run a worker for it (with the demo's app):\n"
        f"  {env} gello queue:retry all\n"
        f"  {hint.command(QUEUES)} --stop-when-empty"
    )
