"""``gello queue:monitor``: the live dashboard, or one overview for scripts and cron."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gello_cli.output import print_json

if TYPE_CHECKING:
    from gello_queue.inspection import Snapshot


def register(app: typer.Typer) -> None:
    app.command("queue:monitor")(monitor)


def monitor(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Print the overview and exit.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --once: print JSON for scripts.")
    ] = False,
    max_pending: Annotated[
        int | None,
        typer.Option(
            "--max",
            min=0,
            help="Exit 1 when a watched queue holds more than N pending jobs (implies --once).",
        ),
    ] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", help="Watch only these queues: a,b.")
    ] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Disable every action.")] = False,
    theme: Annotated[
        str, typer.Option("--theme", help="dark, light or ansi (16 colours), or a Textual theme.")
    ] = "dark",
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between refreshes.")
    ] = 2.0,
    web: Annotated[
        bool,
        typer.Option("--web", help="Serve the dashboard to browsers instead of this terminal."),
    ] = False,
    host: Annotated[
        str, typer.Option("--host", help="With --web: the address to listen on (0.0.0.0: all).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="With --web: the port to listen on.")
    ] = 8090,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="With --web: the address browsers use (default http://HOST:PORT, this machine's"
            " name for 0.0.0.0).",
        ),
    ] = None,
    allow_actions: Annotated[
        bool,
        typer.Option(
            "--allow-actions", help="With --web: let the page act on jobs (it is read-only)."
        ),
    ] = False,
) -> None:
    """Live dashboard of queues, jobs, failures and workers (? lists the keys, q quits)."""
    from gello_queue import ConfigurationError

    watched = [q.strip() for q in queue.split(",") if q.strip()] if queue else None
    if web:
        if once or as_json or max_pending is not None:
            raise ConfigurationError("--web serves the live dashboard: drop --once, --json, --max")
        from gello_cli.commands.monitor_web import serve

        check_theme(theme)
        serve(
            host=host,
            port=port,
            url=public_url,
            queue=queue,
            theme=theme,
            interval=interval,
            allow_actions=allow_actions and not read_only,
        )
        return
    web_only = [
        f"--{name.replace('_', '-')}"
        for name in ("host", "port", "public_url", "allow_actions")
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    ]
    if web_only:
        verb = "need" if len(web_only) > 1 else "needs"
        raise ConfigurationError(f"{' and '.join(web_only)} {verb} --web")
    if once or as_json or max_pending is not None:
        _once(watched, as_json, max_pending)
        return
    _live(watched, read_only=read_only, theme=theme, interval=interval)


def _once(watched: list[str] | None, as_json: bool, max_pending: int | None) -> None:
    from gello_cli.commands.manage import render_status
    from gello_cli.context import with_inspector
    from gello_queue.inspection import RECENT_EVENTS

    # The recent rescues too: the text output prints them under the workers.
    snap: Snapshot = with_inspector(lambda i: i.snapshot(recent_events=RECENT_EVENTS))
    if watched:
        snap = snap.only(watched)
    over = [
        (q, c.pending)
        for q, c in sorted(snap.queues.items())
        if max_pending is not None and c.pending > max_pending
    ]
    if as_json:
        print_json(overview(snap, max_pending, [q for q, _ in over]))
    else:
        typer.echo(kpi_line(snap))
        render_status(snap)
    for name, pending in over:
        typer.echo(f"queue {name!r} holds {pending} pending jobs (max {max_pending})", err=True)
    if over:
        raise typer.Exit(1)


def kpi_line(snap: Snapshot) -> str:
    """Jobs/min, failed in the last hour, pending, max wait, workers busy/total."""
    processed, _ = snap.per_minute()
    queue, wait = snap.max_wait()
    busy, total = snap.busy()
    return (
        f"jobs/min {processed:.1f} · failed 1h {snap.failed_last_hour()} · "
        f"pending {snap.pending()} · max wait {wait:.1f}s"
        + (f" ({queue})" if queue else "")
        + f" · workers {busy}/{total} busy ({len(snap.workers)} live)"
    )


def overview(snap: Snapshot, max_pending: int | None, over: list[str]) -> dict[str, Any]:
    """The overview as JSON-ready data."""
    from gello_queue.inspection import heartbeat_age

    processed, failed = snap.per_minute()
    queue, wait = snap.max_wait()
    busy, total = snap.busy()
    return {
        "taken_at": snap.taken_at,
        "jobs_per_min": round(processed, 3),
        "failed_per_min": round(failed, 3),
        "failed_last_hour": snap.failed_last_hour(),
        "pending": snap.pending(),
        "max_wait": {"queue": queue, "wait_s": round(wait, 3)},
        "workers_busy": busy,
        "workers_slots": total,
        "queues": {
            s.name: {
                "pending": s.pending,
                "scheduled": s.scheduled,
                "reserved": s.reserved,
                "failed": s.failed,
                "wait_s": round(s.wait_s, 3),
                "jobs_per_min": round(s.processed_per_min, 3),
                "failed_per_min": round(s.failed_per_min, 3),
                "workers": s.workers,
                "paused": s.paused,
            }
            for s in snap.all_stats()
        },
        "workers": [
            {
                "id": w.id,
                "name": w.name,
                "host": w.host,
                "pid": w.pid,
                "queues": w.queues,
                "state": w.state,
                "busy": len(w.current_jobs),
                "concurrency": w.concurrency,
                "processed": w.processed,
                "failed": w.failed,
                "memory_bytes": w.memory_bytes,
                "heartbeat_age_s": round(heartbeat_age(w, snap.taken_at), 3),
            }
            for w in snap.workers
        ],
        "max": max_pending,
        "over_max": over,
    }


def check_theme(theme: str) -> None:
    """Refuse an unknown ``--theme`` with one line naming the choices, before any screen.

    Raises:
        ConfigurationError: no shipped or Textual theme has that name.
    """
    from textual.theme import BUILTIN_THEMES

    import themes
    from gello_queue import ConfigurationError

    if theme in themes.names() or theme.removeprefix(themes.PREFIX) in themes.names():
        return
    if theme not in BUILTIN_THEMES:
        raise ConfigurationError(
            f"no theme {theme!r}: use {', '.join(themes.names())}, or one of Textual's"
            f" ({', '.join(sorted(BUILTIN_THEMES))})"
        )


def _live(watched: list[str] | None, *, read_only: bool, theme: str, interval: float) -> None:
    from gello_cli.context import worker_hint
    from gello_cli.tui.backend import Backend
    from gello_queue import Queue, load_settings

    check_theme(theme)
    settings = load_settings()
    connection = Queue(settings=settings)
    backend = Backend(connection)
    try:
        # An unreachable server is one line and exit 1 (raised here, before the screen).
        backend.call_blocking(lambda i: i.snapshot())
        from gello_cli.tui.app import MonitorApp

        MonitorApp(
            backend,
            url=connection.url,
            interval=interval,
            read_only=read_only,
            watched=watched,
            theme=theme,
            lease_s=settings.queue_lease,
            worker_hint=worker_hint(),
            waits=settings.wait_thresholds(),
        ).run()
    finally:
        backend.close()
