"""A failed-store filter as a SQL ``WHERE`` clause, shared by the SQLite and PostgreSQL
drivers (they differ only in how a parameter and a substring search are written)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gello_queue.core.failed_query import FailedQuery, cursor_of, parse_cursor
from gello_queue.core.tags import tag_needle

NEWEST_FIRST = "ORDER BY failed_at DESC, id DESC"
"""The order every listing and bulk step walks the failed store in (an index's order)."""


@dataclass(slots=True)
class Where:
    """A ``WHERE`` clause being built, with its parameters in order."""

    param: Callable[[int], str]
    """The placeholder of the n-th parameter (1-based): ``?`` or ``$n``."""
    contains: str
    """The function that finds a substring: ``instr`` (SQLite) or ``strpos``."""
    args: list[object] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def add(self, sql: str, *values: object) -> None:
        """Add a condition; each ``{}`` in ``sql`` is one of ``values``."""
        marks = []
        for value in values:
            self.args.append(value)
            marks.append(self.param(len(self.args)))
        self.parts.append(sql.format(*marks))

    @property
    def sql(self) -> str:
        return "WHERE " + " AND ".join(self.parts) if self.parts else ""


def where_of(
    query: FailedQuery,
    cursor: str | None,
    *,
    param: Callable[[int], str],
    contains: str,
) -> Where:
    """The conditions that select ``query``'s rows after ``cursor`` (newest first)."""
    w = Where(param, contains)
    if query.queue is not None:
        w.add("queue = {}", query.queue)
    if query.fingerprint is not None:
        w.add("fingerprint = {}", query.fingerprint)
    if query.name is not None:
        w.add(f"{contains}(lower(name), {{}}) > 0", query.name.lower())
    if query.exception is not None:
        w.add(f"{contains}(lower(exception), {{}}) > 0", query.exception.lower())
    if query.after is not None:
        w.add("failed_at >= {}", float(query.after))
    if query.before is not None:
        w.add("failed_at < {}", float(query.before))
    if query.tag is not None:
        w.add(f"{contains}(body, {{}}) > 0", tag_needle(query.tag))
    if query.text is not None:
        haystack = "lower(id || ' ' || name || ' ' || exception || ' ' || message || ' ' || body)"
        w.add(f"{contains}({haystack}, {{}}) > 0", query.text.lower())
    if cursor is not None:
        at, job_id = parse_cursor(cursor)
        w.add("(failed_at, id) < ({}, {})", at, job_id)
    return w


def step_cursor(rows: list[tuple[float, str]], limit: int) -> str | None:
    """The cursor after a bulk step that took ``rows`` ((failed_at, id) pairs): the
    oldest of them, or None when the step found fewer than it could take (none left)."""
    if len(rows) < limit or not rows:
        return None
    return cursor_of(*min(rows))
