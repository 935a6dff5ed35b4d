"""``gello queue:work``: run a worker in the foreground."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from gello_queue import ExitReason
    from gello_queue.inspection import BalanceLimits

LogFormatOpt = Annotated[
    str, typer.Option("--log-format", help="auto (console on a TTY, else json), console, json")
]


def register(app: typer.Typer) -> None:
    app.command("queue:work")(work)


def work(
    connection_name: Annotated[
        str | None,
        typer.Argument(
            metavar="CONNECTION",
            help="The connection to serve (a QUEUE_DRIVER name: redis, database, sqs...);"
            " QUEUE_URL / QUEUE_DRIVER by default.",
            show_default=False,
        ),
    ] = None,
    app: Annotated[
        str | None, typer.Option("--app", help="Module that registers the jobs (GELLO_APP).")
    ] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", help="Queues in strict order: high,default.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Jobs run at once.")
    ] = 1,
    sleep: Annotated[
        float, typer.Option("--sleep", min=0.01, help="Longest idle wait between polls, seconds.")
    ] = 1.0,
    tries: Annotated[
        int | None, typer.Option("--tries", min=1, help="Attempts for jobs that set none.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.001, help="Seconds per attempt for jobs that set none."),
    ] = None,
    backoff: Annotated[
        str | None, typer.Option("--backoff", help="Seconds before a retry: 10 or 10,60,300.")
    ] = None,
    max_jobs: Annotated[
        int | None, typer.Option("--max-jobs", min=1, help="Exit after this many jobs.")
    ] = None,
    max_time: Annotated[
        float | None, typer.Option("--max-time", min=0.001, help="Exit after this many seconds.")
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(
            "--memory",
            help=(
                "Exit (code 12) after current jobs when the worker's RSS passes it, e.g. 512MB"
                " or 512; a blocking handler's process over it is replaced after its job."
            ),
        ),
    ] = None,
    stop_when_empty: Annotated[
        bool, typer.Option("--stop-when-empty", help="Exit when the queues are empty.")
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="Process one job, then exit.")] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Worker name shown by status tools.")
    ] = None,
    processes: Annotated[
        str | None,
        typer.Option(
            "--processes",
            help="Run N worker processes under a supervisor that restarts them; with"
            " --balance auto a range, MIN..MAX (2..8).",
            show_default=False,
        ),
    ] = None,
    balance: Annotated[
        str,
        typer.Option(
            "--balance",
            help="off, or auto: each process serves one of the --queue queues, and"
            " processes move to the queues with the most work (pending x run time).",
        ),
    ] = "off",
    min_processes: Annotated[
        int,
        typer.Option("--min-processes", min=0, help="With --balance auto: per queue, at least."),
    ] = 1,
    max_processes: Annotated[
        int | None,
        typer.Option(
            "--max-processes",
            min=1,
            help="With --balance auto: per queue, at most.",
            show_default=False,
        ),
    ] = None,
    balance_max_shift: Annotated[
        int,
        typer.Option(
            "--balance-max-shift", min=1, help="Processes a queue gains or loses per decision."
        ),
    ] = 1,
    balance_cooldown: Annotated[
        float,
        typer.Option("--balance-cooldown", min=0.1, help="Seconds between balancing decisions."),
    ] = 3.0,
    name_suffix: Annotated[str, typer.Option("--name-suffix", hidden=True)] = "",
    lifeline_fd: Annotated[int | None, typer.Option("--lifeline-fd", hidden=True)] = None,
    grace: Annotated[
        float, typer.Option("--grace", min=0, help="Seconds running jobs get to finish on SIGTERM.")
    ] = 30.0,
    log_format: LogFormatOpt = "auto",
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler", help="Also dispatch the app's cron schedules (as queue:schedule)."
        ),
    ] = False,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning, error")
    ] = "info",
) -> None:
    """Process jobs until stopped (SIGTERM/SIGINT stop gracefully; SIGUSR2 pauses, SIGCONT resumes)."""
    from gello_cli.context import import_app
    from gello_queue import ConfigurationError, Queue, Worker, load_settings
    from gello_queue.inspection import (
        APP_HOWTO,
        EXIT_CODES,
        BalanceLimits,
        configure_logging,
        connection_named,
        find_app,
        parse_backoff_option,
        parse_memory,
        parse_processes,
    )

    try:
        parse_memory(memory)  # before any child starts: each would refuse it alike
    except ConfigurationError as exc:
        raise ConfigurationError(f"--memory: {exc}") from None
    if log_format not in ("auto", "console", "json"):
        raise ConfigurationError(f"--log-format must be auto, console or json, not {log_format!r}")
    url = connection_named(load_settings(), connection_name) if connection_name else None
    if find_app(app).module is None:
        # Without the app's jobs every job would fail as unknown, so refuse to start.
        raise ConfigurationError(f"no app module names the jobs this worker runs: {APP_HOWTO}")
    configure_logging(log_format, level=log_level)  # type: ignore[arg-type]
    bounded = bool(stop_when_empty or once or max_jobs or max_time)
    if processes is not None:
        code = _supervise(
            processes,
            balance,
            queue,
            BalanceLimits(
                *parse_processes(processes),
                min_per_queue=min_processes,
                max_per_queue=max_processes,
                max_shift=balance_max_shift,
            ),
            cooldown_s=balance_cooldown,
            bounded=bounded,
            url=url,
        )
        raise typer.Exit(code)
    if balance != "off":
        raise ConfigurationError("--balance auto needs --processes MIN..MAX, e.g. 2..8")
    import_app(app)
    connection = Queue(url)
    queues = [q.strip() for q in queue.split(",") if q.strip()] if queue else None
    worker = Worker(
        queues,
        connection=connection,
        concurrency=concurrency,
        name=f"{name}{name_suffix}" if name else None,
        memory_limit=memory,
        sleep_s=sleep,
        grace_s=grace,
        timeout_s=timeout,
        tries=tries,
        backoff=parse_backoff_option(backoff) if backoff else None,
        max_jobs=1 if once else max_jobs,
        max_time_s=max_time,
        stop_when_empty=stop_when_empty,
    )
    # Metrics, probes, tracing and retention come with the worker, from its settings.
    reason = run_worker(worker, with_scheduler=scheduler, lifeline_fd=lifeline_fd)
    raise typer.Exit(EXIT_CODES.get(reason, 0))


SUPERVISOR_OPTIONS = frozenset(
    {
        "--processes",
        "--balance",
        "--min-processes",
        "--max-processes",
        "--balance-max-shift",
        "--balance-cooldown",
    }
)
"""The supervisor's own options (each takes a value): its children do not get them."""


def _supervise(
    processes: str,
    balance: str,
    queue: str | None,
    limits: BalanceLimits,
    *,
    cooldown_s: float,
    bounded: bool,
    url: str | None,
) -> int:
    """Run the supervisor the options ask for: N copies of this worker, or with
    ``--balance auto`` processes per queue moved by workload. Returns its exit code."""
    from gello_cli.probes import supervised_observability
    from gello_queue import ConfigurationError

    if balance not in ("off", "auto"):
        raise ConfigurationError(f"--balance must be off or auto, not {balance!r}")
    # Observability: one metrics/health endpoint for all children.
    if balance == "off":
        if limits.total_min != limits.total_max:
            raise ConfigurationError(f"--processes {processes}: a range needs --balance auto")
        from gello_cli.supervisor import supervise

        with supervised_observability():
            return supervise(child_args(), limits.total_max, bounded=bounded)
    queues = [q.strip() for q in (queue or "").split(",") if q.strip()]
    if not queues:
        raise ConfigurationError(
            "--balance auto moves processes between queues: name them, e.g. --queue emails,reports"
        )
    if bounded:
        raise ConfigurationError(
            "--balance auto runs until stopped: leave out --stop-when-empty, --once,"
            " --max-jobs and --max-time"
        )
    from gello_cli.balancer import BalancingSupervisor

    argv = [sys.executable, "-m", "gello_cli", "queue:work", *child_args(drop={"--queue"})]
    with supervised_observability():
        return BalancingSupervisor(argv, queues, limits, cooldown_s=cooldown_s, url=url).run()


def child_args(drop: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """This command's arguments without the supervisor's options (and those in
    ``drop``), for the supervisor's children."""
    options = SUPERVISOR_OPTIONS | set(drop)
    args, skip = [], False
    for arg in sys.argv[2:]:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        elif arg.partition("=")[0] not in options:
            args.append(arg)
    return args


def run_worker(
    worker: object, *, with_scheduler: bool = False, lifeline_fd: int | None = None
) -> ExitReason:
    """Run ``worker.start()`` on a fresh loop (uvloop when installed) with signal handlers;
    with ``with_scheduler``, a cron scheduler runs beside it and stops with it; with
    ``lifeline_fd`` (given by a supervisor), it stops at once when the supervisor is gone."""
    from gello_queue import Worker
    from gello_queue.inspection import EXIT_CODES

    assert isinstance(worker, Worker)

    async def main() -> ExitReason:
        loop = asyncio.get_running_loop()
        interrupts = 0

        def on_interrupt() -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts == 1:
                worker.stop()
            else:
                worker.stop_now()

        loop.add_signal_handler(signal.SIGTERM, worker.stop)
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        loop.add_signal_handler(signal.SIGUSR2, worker.pause)
        loop.add_signal_handler(signal.SIGCONT, worker.resume)
        if lifeline_fd is not None:
            from gello_cli.supervisor import stop_with_supervisor

            stop_with_supervisor(loop, lifeline_fd, worker.stop_now)
        scheduling: asyncio.Task[None] | None = None
        if with_scheduler:
            from gello_queue import Scheduler

            cron = Scheduler(worker.connection)
            scheduling = asyncio.create_task(cron.run())
        try:
            reason = await worker.start()
        finally:
            if scheduling is not None:
                cron.stop()
                await scheduling
            await worker.connection.close()
        if worker.abandoned():
            # Handlers that ignore their cancellation would hold the loop's shutdown (it
            # waits for every task): their jobs are released, so the process just ends.
            worker.log.warning("exiting_with_abandoned_runs", runs=worker.abandoned())
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_CODES.get(reason, 0))
        return reason

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:
        return asyncio.run(main())
