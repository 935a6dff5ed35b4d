"""Cron schedules: ``queue:schedule`` runs a scheduler, ``queue:schedule:list`` shows the
next run of each schedule the application declares."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import TYPE_CHECKING, Annotated

import typer

from gello_cli.output import print_json, print_table

if TYPE_CHECKING:
    from gello_queue.inspection import AppLocation

AppOpt = Annotated[
    str | None,
    typer.Option("--app", help="Module that declares the jobs and schedules (GELLO_APP)."),
]


def no_schedules(found: AppLocation) -> str:
    """Why no schedule was found: the app module that was imported and declares none,
    or where the app module was looked for."""
    from gello_queue.inspection import APP_HOWTO

    if found.module is None:
        return (
            f"No schedules declared: no app module found (looked at {found.searched}); {APP_HOWTO}"
        )
    return (
        f"No schedules declared in app module {found.module!r} (from {found.source}):"
        " call schedule(Job, cron=...) there"
    )


def register(app: typer.Typer) -> None:
    app.command("queue:schedule")(run_schedule)
    app.command("queue:schedule:list")(list_schedules)


def run_schedule(
    app: AppOpt = None,
    max_time: Annotated[
        float | None, typer.Option("--max-time", min=0.001, help="Exit after this many seconds.")
    ] = None,
    log_format: Annotated[str, typer.Option("--log-format", help="auto, console or json")] = "auto",
) -> None:
    """Dispatch scheduled jobs as they come due (run one per host, or several: each
    occurrence is dispatched once). SIGTERM/SIGINT stop it."""
    from gello_cli.context import import_app
    from gello_queue import ConfigurationError, Queue, Scheduler
    from gello_queue.inspection import configure_logging, default_schedules

    if log_format not in ("auto", "console", "json"):
        raise ConfigurationError(f"--log-format must be auto, console or json, not {log_format!r}")
    configure_logging(log_format)  # type: ignore[arg-type]
    found = import_app(app)
    if not len(default_schedules):
        raise ConfigurationError(no_schedules(found))

    async def main() -> None:
        queue = Queue()
        scheduler = Scheduler(queue)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, scheduler.stop)
        if max_time is not None:
            loop.call_later(max_time, scheduler.stop)
        try:
            await scheduler.run()
        finally:
            await queue.close()

    asyncio.run(main())


def list_schedules(
    app: AppOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Each declared schedule with its cron expression, time zone and next run."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gello_cli.context import import_app
    from gello_queue.inspection import default_schedules

    found = import_app(app)
    now = time.time()
    rows = []
    for s in default_schedules:
        row: dict[str, object] = {
            "name": s.name,
            "job": s.job.name,
            "cron": s.cron,
            "tz": s.tz,
            "queue": s.dispatch.queue or s.job.queue or "",
        }
        try:
            at = s.next_after(now)
        except ValueError as exc:
            # An expression that stopped matching any date (a year now past) is marked,
            # not a traceback that hides the other schedules.
            row.update(next_run=None, next_run_local=f"never ({exc})", in_s=None)
        else:
            row.update(
                next_run=at,
                next_run_local=datetime.fromtimestamp(at, ZoneInfo(s.tz)).isoformat(),
                in_s=round(at - now, 3),
            )
        rows.append(row)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo(f"{no_schedules(found)}.")
        return
    print_table(
        "Schedules",
        ["name", "job", "cron", "time zone", "next run", "in"],
        [
            [
                r["name"],
                r["job"],
                r["cron"],
                r["tz"],
                r["next_run_local"],
                "" if r["in_s"] is None else f"{r['in_s']:.0f}s",
            ]
            for r in rows
        ],
    )
