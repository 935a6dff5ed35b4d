"""A queued-job filter (``gello_queue.core.job_query``) as a SQL ``WHERE`` clause, shared
by the SQLite and PostgreSQL drivers (they differ in how a parameter, a substring search,
the job name inside the body and the clock are written)."""

from __future__ import annotations

from collections.abc import Callable

from gello_queue.core.failed_query import FailedQuery, parse_cursor
from gello_queue.core.job_query import selects_none
from gello_queue.core.states import JobState
from gello_queue.core.tags import tag_needle
from gello_queue.drivers.failed_sql import Where

OLDEST_FIRST = "ORDER BY available_at, id"
"""The order listings and bulk steps walk jobs in (the ``jobs`` listing's order)."""


def job_where(
    state: JobState,
    query: FailedQuery,
    cursor: str | None,
    *,
    param: Callable[[int], str],
    contains: str,
    name: str,
    now: float | str,
) -> Where:
    """The conditions that select the jobs in ``state`` that ``query`` selects, after
    ``cursor`` in the order (available_at, id).

    ``name`` is the SQL expression of the job name in the body (NULL when the body is not
    an envelope); ``now`` the backend's time, a value or an SQL expression.
    """
    w = Where(param, contains)

    def at_now(sql: str) -> None:
        if isinstance(now, str):
            w.add(sql.replace("{}", now))
        else:
            w.add(sql, float(now))

    if state is JobState.RESERVED:
        w.add("token IS NOT NULL")
    else:
        w.add("token IS NULL")
        at_now("available_at <= {}" if state is JobState.PENDING else "available_at > {}")
    if selects_none(query):
        w.add("1 = 0")
    if query.queue is not None:
        w.add("queue = {}", query.queue)
    if query.after is not None:
        w.add("created_at >= {}", float(query.after))
    if query.before is not None:
        w.add("created_at < {}", float(query.before))
    if query.name is not None:
        w.add(f"{contains}(lower(coalesce({name}, '')), {{}}) > 0", query.name.lower())
    if query.tag is not None:
        w.add(f"{contains}(body, {{}}) > 0", tag_needle(query.tag))
    if query.text is not None:
        w.add(f"{contains}(lower(id || ' ' || body), {{}}) > 0", query.text.lower())
    if cursor is not None:
        at, job_id = parse_cursor(cursor)
        w.add("(available_at, id) > ({}, {})", at, job_id)
    return w
