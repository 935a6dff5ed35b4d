"""Rows shared by several screens: the queue table and the unserved-queue hints."""

from __future__ import annotations

from collections.abc import Sequence

from gello_cli.tui.format import count, duration, rate
from gello_cli.tui.table import Cell, cell, num
from gello_queue import GelloError
from gello_queue.inspection import (
    FailedFilter,
    QueueStats,
    Snapshot,
    WaitThresholds,
    WorkerHint,
    event_line,
    restart_line,
)

RESCUES_HINTED_S = 600
"""How long a rescue stays among the overview's hints."""

QUEUE_COLUMNS = [
    ("queue", "Queue"),
    ("pending", "Pending"),
    ("scheduled", "Sched"),
    ("reserved", "Running"),
    ("failed", "Failed"),
    ("wait", "Wait"),
    ("rate", "Done/m"),
    ("fail_rate", "Fail/m"),
    ("workers", "Wrk"),
    ("state", "State"),
]


def query_error(text: str) -> str | None:
    """Why ``text`` is not a filter of the Jobs and Failed screens' language, or None."""
    try:
        FailedFilter.parse(text)
    except GelloError as exc:
        return str(exc)
    return None


def queue_row(
    q: QueueStats, colors: dict[str, str], waits: WaitThresholds
) -> tuple[str, Sequence[Cell]]:
    """One queue's cells, coloured by what needs attention (its wait by ``waits``)."""
    level = waits.level(q.name, q.wait_s)
    wait_style = {"alarm": colors["error"], "warn": colors["warning"]}.get(level, "")
    if q.paused:
        state = cell("paused", style=colors["warning"])
    elif q.workers == 0 and (q.pending or q.scheduled):
        state = cell("no worker", style=colors["error"])
    elif q.workers == 0:
        state = cell("idle", style=colors["muted"])
    else:
        state = cell("active", style=colors["success"])
    return q.name, (
        cell(q.name),
        num(count(q.pending), q.pending),
        num(count(q.scheduled), q.scheduled),
        num(count(q.reserved), q.reserved),
        num(count(q.failed), q.failed, colors["error"] if q.failed else ""),
        num(duration(q.wait_s), q.wait_s, wait_style),
        num(rate(q.processed_per_min), q.processed_per_min),
        num(rate(q.failed_per_min), q.failed_per_min, colors["error"] if q.failed_per_min else ""),
        num(str(q.workers), q.workers, "" if q.workers else colors["muted"]),
        state,
    )


def hints(snap: Snapshot, worker: WorkerHint | None = None) -> str:
    """Explain empty states (no queues, no workers, queues nobody consumes, with the
    ``worker`` command that would serve them), and say what just happened: a restart of
    the backend server that lost jobs, rescues of a dead worker's jobs."""
    worker = worker or WorkerHint()
    if not snap.queues:
        lines = ["No jobs in any queue yet: dispatch one, or try `gello demo`."]
    else:
        lines = [
            f"Nobody consumes '{q.name}' ({count(q.pending + q.scheduled)} waiting): "
            f"run `{worker.command(q.name)}`"
            for q in snap.unconsumed()
        ]
    if not snap.workers and not lines:
        lines.append(f"No live workers: start one with `{worker.command()}`.")
    # Rescues of the last minutes first: a worker died, its jobs came back.
    recent = [e for e in snap.events if e.at >= snap.taken_at - RESCUES_HINTED_S]
    lines[:0] = [f"{event_line(e)}." for e in recent[:2]]
    if snap.restarts is not None:
        line = restart_line(snap.restarts, snap.taken_at)
        lines.insert(0, f"{line[0].upper()}{line[1:]}.")
    return "\n".join(lines[:3] + ([f"… and {len(lines) - 3} more"] if len(lines) > 3 else []))
