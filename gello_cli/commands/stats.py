"""``queue:stats``: wait and run percentiles, jobs per minute and failure rate, per queue
and per job class, from the timings workers store each minute."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gello_cli.context import JsonOpt, with_inspector
from gello_cli.output import latency, percent, print_json, print_table

if TYPE_CHECKING:
    from gello_queue.inspection import TimingReport, TimingStatsRow

WAIT, RUN = "wait p50 p95 p99", "run p50 p95 p99"
COLUMNS = ("jobs/m", "failed", WAIT, RUN)
"""Few and narrow: the per-class table fits 80 columns with short names (longer ones
wrap, never the figures)."""


def register(app: typer.Typer) -> None:
    app.command("queue:stats")(stats)


def stats(
    since: Annotated[
        str, typer.Option("--since", help="How far back: 90s, 15m, 1h, 2d (at most a day is kept).")
    ] = "1h",
    as_json: JsonOpt = False,
) -> None:
    """Wait and run time percentiles (p50, p95, p99), jobs per minute and failure rate,
    per queue and per job class, over the last minutes workers counted."""
    from gello_queue.inspection import parse_window

    try:
        window_s = parse_window(since)
    except ValueError as exc:
        typer.echo(f"error: --since: {exc}", err=True)
        raise typer.Exit(1) from None
    report: TimingReport = with_inspector(lambda inspector: inspector.stats(window_s=window_s))
    if as_json:
        print_json(report.to_dict())
        return
    if not report.queues:
        typer.echo(f"No job ran in the last {since}.")
        return
    print_table(
        f"Per queue, last {since}",
        ["queue", *COLUMNS],
        [[r.queue, *_figures(r)] for r in report.queues],
        keep=[WAIT, RUN],
    )
    print_table(
        f"Per job class, last {since}",
        ["queue", "job", *COLUMNS],
        [[r.queue, r.job, *_figures(r)] for r in report.jobs],
        keep=[WAIT, RUN],
    )


def _figures(row: TimingStatsRow) -> list[Any]:
    from gello_queue.inspection import PERCENTILES

    return [
        f"{row.per_minute:.1f}",
        f"{percent(row.failure_rate)} ({row.failed}/{row.ended})",
        " ".join(latency(row.wait_p(q)) for q in PERCENTILES),
        " ".join(latency(row.run_p(q)) for q in PERCENTILES),
    ]
