"""Operational events as operators read them: "3 jobs of vm:14517/worker-1 rescued at
15:27:53", on the dashboard and in ``queue:status``."""

from __future__ import annotations

import time

from gello_queue.core.errors import NotSupportedError
from gello_queue.ports import EventKind, OpsEvent, event_log

RECENT_EVENTS = 5
"""Events the dashboard and ``queue:status`` show."""


async def events_of(driver: object, limit: int) -> list[OpsEvent]:
    """The newest ``limit`` events ``driver`` keeps; none from a driver without the
    ``EventLog`` port (or a wrapper over one)."""
    try:
        return await event_log(driver).events_recent(limit=limit)
    except NotSupportedError:
        return []


def _jobs(n: int) -> str:
    return f"{n} job" if n == 1 else f"{n} jobs"


def event_line(event: OpsEvent) -> str:
    """One line saying what happened, to whom and when (local wall-clock time)."""
    at = time.strftime("%H:%M:%S", time.localtime(event.at))
    if event.kind == EventKind.RESCUE:
        whose = event.worker
        if not whose:
            whose = "a worker that left no name"
        elif ":" not in whose:  # an id, not host:pid/name: its tail, as job ids are shown
            whose = f"worker …{whose[-8:]}"
        line = f"{_jobs(len(event.jobs))} of {whose} rescued at {at}"
        if event.failed:
            line += f" ({len(event.failed)} on their last attempt, to the failed store)"
        return line
    if event.kind == EventKind.BALANCED:
        return f"processes rebalanced at {at} by {event.worker}: {event.detail}"
    return f"{event.kind} of {event.worker} at {at}"
