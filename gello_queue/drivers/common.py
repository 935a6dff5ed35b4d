"""Small helpers every driver shares, so failed-store semantics stay identical."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.states import COMMAND_KEPT_S
from gello_queue.ports import CompletedJob, OpsEvent, WorkerRecord

THROUGHPUT_KEPT_S = 86_400
"""How long every driver keeps per-minute throughput buckets: older ones are of no use to
status or the dashboard, which show the last hour."""

EVENTS_KEPT = 100
"""How many operational events (``EventLog``) every driver keeps: the newest."""
EVENTS_KEPT_S = 86_400
"""How long every driver keeps an operational event, at most."""


def name_of(body: str | bytes) -> str:
    """The job name inside a stored body, or ``?`` when it is not an envelope."""
    try:
        return Envelope.decode(body).name
    except EnvelopeError:
        return "?"


def text_of(body: str | bytes) -> str:
    """A stored body as text for the failed store: bytes that are not UTF-8 (a poison
    message) are kept visible as escapes."""
    return body if isinstance(body, str) else body.decode("utf-8", "backslashreplace")


def seen(record: WorkerRecord, now: float) -> WorkerRecord:
    """The heartbeat stamped with the backend's time."""
    return replace(record, last_seen=now)


def newest_command(rows: Iterable[tuple[str, float]], prefix: str, now: float) -> str | None:
    """The command of the newest control row ``<prefix><command>`` (valued by when it
    was left) that is not older than ``COMMAND_KEPT_S``: the SQL drivers' one rule."""
    fresh = [(float(at), str(key)[len(prefix) :]) for key, at in rows if at > now - COMMAND_KEPT_S]
    return max(fresh)[1] if fresh else None


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """``lo <= id < hi`` exactly when ``id`` starts with ``prefix`` (binary order, as the
    SQL drivers store ids), so a prefix lookup is a range scan of the primary key."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


HISTORY_TRIM_EVERY = 64
"""Recording calls between two count trims, on the drivers that trim now and then (SQL):
a queue then holds at most this many flushes over its ``keep`` in between."""


def pick_recent(
    records: list[CompletedJob],
    *,
    name: str | None,
    limit: int,
    since: float | None,
    tag: str | None = None,
) -> list[CompletedJob]:
    """``records`` newest first, of one job name, finished at or after ``since``, carrying
    ``tag``: the filter of ``JobHistory.recent`` for the drivers that read whole queues'
    records."""
    records.sort(key=lambda c: (c.finished_at, c.id), reverse=True)
    picked = [
        c
        for c in records
        if (name is None or c.name == name)
        and (since is None or c.finished_at >= since)
        and (tag is None or c.has_tag(tag))
    ]
    return picked[: max(limit, 0)]


def kept_events(events: Iterable[OpsEvent], now: float) -> list[OpsEvent]:
    """Events within the bounds every driver keeps, newest first (ties: the later
    recorded first, as ``events`` lists them oldest first)."""
    young = [e for e in events if e.at >= now - EVENTS_KEPT_S]
    return sorted(reversed(young), key=lambda e: e.at, reverse=True)[:EVENTS_KEPT]
