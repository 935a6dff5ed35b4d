"""Which queued jobs (pending, scheduled or running) a listing, count or bulk action
concerns, in the same filter language as the failed store (``FailedQuery``), and the page
those queries return.

A queued job has no exception and no fingerprint, so ``exc:`` and ``fp:`` select none.
``name:`` looks at the job name inside the stored envelope, free text at the id and the
whole stored envelope (name and payload), and the age bounds (``after``/``before``) at
``created_at``: when the job was dispatched, whatever its state now. Drivers apply it in
their backend and fall back on ``queued_matches`` only where they must look at a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from gello_queue.core.failed_query import FailedQuery, cursor_of, parse_cursor
from gello_queue.core.records import JobRecord
from gello_queue.core.states import JobState
from gello_queue.core.tags import tag_needle

LISTED_STATES = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED)
CANCELLABLE_STATES = (JobState.PENDING, JobState.SCHEDULED)

TEXT_BUDGET_S = 0.25
"""How long a driver that must read bodies (Redis) looks for one page or one count of a
``name:`` or free-text query before it answers with what it has, marked incomplete."""


def selects_none(query: FailedQuery) -> bool:
    """True when ``query`` asks for something only failed jobs have."""
    return query.exception is not None or query.fingerprint is not None


def name_in_body(body: str) -> str:
    """The job name an envelope body holds (empty when it is not an envelope)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return str(data.get("name", "")) if isinstance(data, dict) else ""


def queued_matches(query: FailedQuery, job: JobRecord) -> bool:
    """Whether ``query`` (ages already turned into bounds) selects the queued ``job``."""
    if selects_none(query):
        return False
    if query.queue is not None and job.queue != query.queue:
        return False
    if query.after is not None and job.created_at < query.after:
        return False
    if query.before is not None and job.created_at >= query.before:
        return False
    if query.name is not None and query.name.lower() not in name_in_body(job.body).lower():
        return False
    if query.tag is not None and tag_needle(query.tag) not in job.body:
        return False
    return query.text is None or query.text.lower() in f"{job.id} {job.body}".lower()


@dataclass(frozen=True, slots=True)
class JobPage:
    """One page of a filtered listing of queued jobs, in the driver's listing order."""

    jobs: list[JobRecord] = field(default_factory=list)
    cursor: str | None = None
    """Pass it back for the next page; None when the listing is at its end. Its form is
    the driver's own."""
    complete: bool = True
    """False when a search that reads bodies stopped at its time budget before filling
    the page: ``cursor`` then continues where it stopped."""


# -- oldest first by (available_at, id), the SQL drivers' and the memory driver's order --


def after_cursor(job: JobRecord, cursor: str | None) -> bool:
    """Whether ``job`` comes after ``cursor`` in the order (available_at, id)."""
    return cursor is None or (job.available_at, job.id) > parse_cursor(cursor)


def oldest_page(rows: list[JobRecord], limit: int) -> JobPage:
    """The first ``limit`` of ``rows`` (already selected, oldest first) as a page."""
    jobs = rows[:limit]
    more = len(rows) > limit
    return JobPage(jobs, cursor_of(jobs[-1].available_at, jobs[-1].id) if more else None)


def step_after(rows: list[tuple[float, str]], limit: int) -> str | None:
    """The cursor after a bulk step that took ``rows`` ((available_at, id) pairs), or None
    when it took fewer than it could (none left)."""
    if len(rows) < limit or not rows:
        return None
    return cursor_of(*max(rows))
