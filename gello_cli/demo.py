"""``gello demo``: the main job on the embedded default, with nothing to set up.

Dispatches example jobs to a fresh SQLite file, runs a worker over them with its live log
(one job succeeds at once, one fails and succeeds on retry, one ends in the failed store),
then prints the queue status and the failed jobs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, EmailStr

from gello_queue import Job, JobRegistry, Queue, Worker
from gello_queue.inspection import Inspector
from gello_queue.observability import configure_logging

demo_registry = JobRegistry()
_attempts: dict[int, int] = {}


class WelcomePayload(BaseModel):
    user_id: int
    email: EmailStr


class SendWelcomeEmail(Job[WelcomePayload], register=False):
    """Always succeeds."""

    queue = "emails"
    tries = 3

    async def handle(self, payload: WelcomePayload) -> None:
        await asyncio.sleep(0.05)


class ReportPayload(BaseModel):
    report_id: int


class GenerateReport(Job[ReportPayload], register=False):
    """Fails on its first attempt (a flaky dependency), succeeds on the retry."""

    tries = 3
    backoff = 0.5

    async def handle(self, payload: ReportPayload) -> None:
        _attempts[payload.report_id] = _attempts.get(payload.report_id, 0) + 1
        if _attempts[payload.report_id] == 1:
            raise ConnectionError("report service timed out")


class ChargePayload(BaseModel):
    order_id: int
    cents: int


class ChargeCard(Job[ChargePayload], register=False):
    """Always fails: it ends in the failed store after its tries."""

    queue = "payments"
    tries = 2
    backoff = 0.3

    async def handle(self, payload: ChargePayload) -> None:
        raise ValueError(f"card declined for order {payload.order_id}")


for _job in (SendWelcomeEmail, GenerateReport, ChargeCard):
    demo_registry.register(_job)


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

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    configure_logging("console")
    queue = Queue(f"sqlite:///{database.resolve()}", registry=demo_registry)

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
            ["payments", "emails", "default"],
            connection=queue,
            concurrency=4,
            stop_when_empty=True,
            sleep_s=0.1,
        )
        await worker.start()
        inspector = Inspector(queue)
        typer.echo("")
        render_status(await inspector.snapshot())
        print_failed(await inspector.failed())
        await queue.close()

    asyncio.run(main())
    typer.echo(f"\nRetry the failed job: DATABASE_URL=sqlite:///{database} gello queue:retry-all")
