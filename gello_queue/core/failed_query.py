"""Which failed jobs a listing, count, grouping or bulk action concerns, as drivers apply
it: the filter record, the fingerprint that groups "the same" failure, the cursor that
pages newest first, and the records those queries return.

Drivers import this module (they see only core and the ports), so each applies a filter
in its backend (SQL ``WHERE``, Redis indexes) and falls back on ``FailedQuery.matches``
only where it must look at a row itself.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import time
from dataclasses import dataclass, field, replace

from gello_queue.core.errors import ConfigurationError
from gello_queue.core.records import CompletedJob, FailedJob
from gello_queue.core.tags import tag_needle

_FILTER_KEYS = {"queue": "queue", "q": "queue", "name": "name", "job": "name"}
_FILTER_KEYS |= {"exc": "exception", "exception": "exception", "error": "exception"}
_FILTER_KEYS |= {"fp": "fingerprint", "group": "fingerprint", "tag": "tag"}

_AGE = re.compile(r"([<>])(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
AGE_HELP = "age: takes > or < and a number with a unit s, m, h or d, e.g. age:>1h or age:<10m"

_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f-]{27,}|0x[0-9a-f]+|\b[0-9a-f]{12,}\b|'[^']*'|\"[^\"]*\"|\d+(\.\d+)?",
    re.IGNORECASE,
)

BULK_BATCH = 1000
"""Failed jobs one step of a bulk retry or purge handles (one script call, one
transaction): long enough to be cheap, short enough not to hold the backend."""


def fingerprint_of(name: str, exception: str, message: str) -> str:
    """Groups failures that are "the same": job, exception type and the message with
    ids, numbers and quoted values taken out. Stored with each failure by the drivers."""
    normal = _VOLATILE.sub("#", message)
    return hashlib.sha1(f"{name}|{exception}|{normal}".encode()).hexdigest()[:10]


def fingerprint(job: FailedJob) -> str:
    """The fingerprint of a failed job (see ``fingerprint_of``)."""
    return fingerprint_of(job.name, job.exception, job.message)


@dataclass(frozen=True, slots=True)
class FailedQuery:
    """Which failed jobs an action or listing concerns; every part given must match.

    ``name``, ``exception`` and ``text`` are case-insensitive substrings; ``text`` is
    searched in the id, job name, exception, message and the stored body (the payload).
    ``after`` and ``before`` bound ``failed_at`` (``after`` inclusive, ``before``
    exclusive).

    ``older_than`` and ``newer_than`` are ages in seconds (``age:>1h``, ``age:<10m``), kept
    relative so that a parsed filter stays equal to itself; ``merge_queue`` turns them into
    ``before``/``after`` at the moment a query runs, which is the only form drivers see.
    The same filter selects queued jobs (see ``JobQueries``), whose age runs from
    ``created_at`` instead of ``failed_at``.
    """

    queue: str | None = None
    name: str | None = None
    exception: str | None = None
    text: str | None = None
    fingerprint: str | None = None
    after: float | None = None
    before: float | None = None
    older_than: float | None = None
    newer_than: float | None = None
    tag: str | None = None
    """A job tag (``tag:customer:42``), matched exactly: see ``tag_needle``."""

    @classmethod
    def parse(cls, query: str) -> FailedQuery:
        """``queue:emails name:Invoice exc:Timeout age:>1h "some words"`` → a filter.

        Raises:
            ConfigurationError: an ``age:`` part is not ``>N`` or ``<N`` with a unit (the
                message says how to write one).
        """
        parts: dict[str, str] = {}
        ages: dict[str, float] = {}
        words: list[str] = []
        try:
            tokens = shlex.split(query)
        except ValueError:
            tokens = query.split()
        for token in tokens:
            key, sep, value = token.partition(":")
            if sep and key.lower() == "age":
                ages |= _parse_age(value)
            elif sep and key.lower() in _FILTER_KEYS and value:
                parts[_FILTER_KEYS[key.lower()]] = value
            else:
                words.append(token)
        return cls(
            queue=parts.get("queue"),
            name=parts.get("name"),
            exception=parts.get("exception"),
            text=" ".join(words) or None,
            fingerprint=parts.get("fingerprint"),
            older_than=ages.get(">"),
            newer_than=ages.get("<"),
            tag=parts.get("tag"),
        )

    def at(self, now: float) -> FailedQuery:
        """The filter with its ages turned into time bounds as of ``now`` (the ages
        tighten ``after``/``before`` given as well)."""
        after, before = self.after, self.before
        if self.older_than is not None:
            edge = now - self.older_than
            before = edge if before is None else min(before, edge)
        if self.newer_than is not None:
            edge = now - self.newer_than
            after = edge if after is None else max(after, edge)
        return replace(self, after=after, before=before, older_than=None, newer_than=None)

    @property
    def only_queue(self) -> bool:
        """True when the filter selects by queue alone (or nothing)."""
        return self == FailedQuery(queue=self.queue)

    @property
    def indexed(self) -> bool:
        """True when no free text or tag is asked for: every part has an index on every
        driver, so counts are exact and pages never stop early."""
        return self.text is None and self.tag is None

    def matches(self, job: FailedJob) -> bool:
        """Whether ``job`` is selected."""
        if self.queue is not None and job.queue != self.queue:
            return False
        if self.name is not None and self.name.lower() not in job.name.lower():
            return False
        if self.exception is not None and self.exception.lower() not in job.exception.lower():
            return False
        if self.after is not None and job.failed_at < self.after:
            return False
        if self.before is not None and job.failed_at >= self.before:
            return False
        if self.fingerprint is not None and fingerprint(job) != self.fingerprint:
            return False
        if self.tag is not None and tag_needle(self.tag) not in job.body:
            return False
        if self.text is not None:
            haystack = f"{job.id} {job.name} {job.exception} {job.message} {job.body}".lower()
            return self.text.lower() in haystack
        return True

    def matches_completed(self, job: CompletedJob) -> bool:
        """Whether the completed job ``job`` is selected: as a failed job, its age from
        ``finished_at``; a history record has no exception nor body, so a filter on an
        exception or a fingerprint selects none, and free text looks in its id, name and
        payload (when kept)."""
        if self.exception is not None or self.fingerprint is not None:
            return False
        if self.queue is not None and job.queue != self.queue:
            return False
        if self.name is not None and self.name.lower() not in job.name.lower():
            return False
        if self.after is not None and job.finished_at < self.after:
            return False
        if self.before is not None and job.finished_at >= self.before:
            return False
        if self.tag is not None and not job.has_tag(self.tag):
            return False
        if self.text is not None:
            haystack = f"{job.id} {job.name} {job.payload or ''}".lower()
            return self.text.lower() in haystack
        return True

    def describe(self) -> str:
        """The filter in the query language (empty when it selects everything; absolute
        ``after``/``before`` bounds have no words in it, ages do)."""
        parts = [
            f"{k}:{v}"
            for k, v in (
                ("queue", self.queue),
                ("name", self.name),
                ("exc", self.exception),
                ("fp", self.fingerprint),
                ("tag", self.tag),
            )
            if v is not None
        ]
        for sign, age in ((">", self.older_than), ("<", self.newer_than)):
            if age is not None:
                parts.append(f"age:{sign}{age_text(age)}")
        if self.text is not None:
            parts.append(shlex.quote(self.text) if " " in self.text else self.text)
        return " ".join(parts)


def _parse_age(value: str) -> dict[str, float]:
    found = _AGE.fullmatch(value.strip().lower())
    if found is None:
        raise ConfigurationError(f"not an age: {value[:20]!r}; {AGE_HELP}")
    sign, number, unit = found.groups()
    return {sign: float(number) * _UNITS[unit]}


def age_text(seconds: float) -> str:
    """``3600`` → ``1h``: the largest unit that writes the age as a whole number."""
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def merge_queue(
    match: FailedQuery | None, queue: str | None, *, now: float | None = None
) -> FailedQuery:
    """``match`` (everything when None) narrowed to ``queue`` unless it names one, with
    its ages turned into time bounds as of ``now`` (this host's clock when None): the
    form a driver is given."""
    match = match or FailedQuery()
    if queue is not None and match.queue is None:
        match = replace(match, queue=queue)
    if match.older_than is None and match.newer_than is None:
        return match
    return match.at(time.time() if now is None else now)


# -- paging newest first -------------------------------------------------------------


def cursor_of(failed_at: float, job_id: str) -> str:
    """The cursor after a row: the next page holds the rows strictly older than it in the
    order (failed_at, id) descending. A row that fails later lands before it, so paging
    never repeats nor skips a row that was there when the paging began."""
    return f"{failed_at!r}|{job_id}"


def parse_cursor(cursor: str) -> tuple[float, str]:
    """(failed_at, id) of a cursor from ``cursor_of``.

    Raises:
        ConfigurationError: the text is not such a cursor.
    """
    at, sep, job_id = cursor.partition("|")
    try:
        if sep:
            return float(at), job_id
    except ValueError:
        pass
    raise ConfigurationError(f"not a failed-store cursor: {cursor[:40]!r}")


def older(job: FailedJob, cursor: tuple[float, str] | None) -> bool:
    """Whether ``job`` comes after the cursor, newest first."""
    return cursor is None or (job.failed_at, job.id) < cursor


@dataclass(frozen=True, slots=True)
class FailedPage:
    """One page of a filtered listing, newest first."""

    jobs: list[FailedJob] = field(default_factory=list)
    cursor: str | None = None
    """Pass it back for the next page; None when the listing is at its end."""
    complete: bool = True
    """False when a free-text search stopped at its time budget before filling the page:
    ``cursor`` then continues the search where it stopped."""


@dataclass(frozen=True, slots=True)
class FailedTally:
    """How many failed jobs a filter selects."""

    count: int
    complete: bool = True
    """False when a free-text count stopped at its time budget: ``count`` is a lower
    bound."""


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Failed jobs that share a fingerprint (see ``fingerprint_of``)."""

    fingerprint: str
    name: str
    exception: str
    message: str
    """One failure's message (the newest a driver keeps), as an example."""
    count: int
    queues: list[str]
    newest_at: float


def merge_groups(parts: list[list[FailureGroup]]) -> list[FailureGroup]:
    """Groups from several stores (queues, connections) as one list, biggest first."""
    merged: dict[str, FailureGroup] = {}
    for part in parts:
        for g in part:
            had = merged.get(g.fingerprint)
            if had is None:
                merged[g.fingerprint] = g
                continue
            newer = g if g.newest_at > had.newest_at else had
            merged[g.fingerprint] = replace(
                newer,
                count=had.count + g.count,
                queues=sorted({*had.queues, *g.queues}),
            )
    return sorted(merged.values(), key=lambda g: (-g.count, -g.newest_at, g.fingerprint))


@dataclass(frozen=True, slots=True)
class FailedStep:
    """One step of a bulk retry or purge."""

    done: int
    """Jobs retried or deleted in this step."""
    cursor: str | None
    """Pass it back for the next step; None when no selected job is left."""


# -- the same queries over rows in memory (the memory driver, tests) -------------------


def newest_first(rows: list[FailedJob], query: FailedQuery, cursor: str | None) -> list[FailedJob]:
    """The rows ``query`` selects after ``cursor``, newest first."""
    after = None if cursor is None else parse_cursor(cursor)
    picked = [r for r in rows if older(r, after) and query.matches(r)]
    picked.sort(key=lambda r: (r.failed_at, r.id), reverse=True)
    return picked


def page_of(rows: list[FailedJob], limit: int) -> FailedPage:
    """The first ``limit`` of selected rows (newest first) as a page."""
    jobs = rows[:limit]
    more = len(rows) > limit
    return FailedPage(jobs, cursor_of(jobs[-1].failed_at, jobs[-1].id) if more else None)


def groups_of(rows: list[FailedJob]) -> list[FailureGroup]:
    """Rows grouped by fingerprint, biggest first."""
    groups: dict[str, FailureGroup] = {}
    for job in rows:
        fp = fingerprint(job)
        g = groups.get(fp)
        if g is None:
            groups[fp] = FailureGroup(
                fp, job.name, job.exception, job.message, 1, [job.queue], job.failed_at
            )
            continue
        newer = job.failed_at > g.newest_at
        groups[fp] = FailureGroup(
            fp,
            g.name,
            g.exception,
            job.message if newer else g.message,
            g.count + 1,
            sorted({*g.queues, job.queue}),
            max(g.newest_at, job.failed_at),
        )
    return merge_groups([list(groups.values())])


def merge_pages(parts: list[FailedPage], limit: int) -> FailedPage:
    """Pages of the same query from several stores as one page, newest first.

    A store whose page stopped before the end (it has a cursor) may hold rows just past
    its last one, so the merged page stops at the shallowest such cursor: nothing older
    than it is shown before that store has been read that far."""
    rows = sorted(
        (j for p in parts for j in p.jobs), key=lambda j: (j.failed_at, j.id), reverse=True
    )
    stops = [parse_cursor(p.cursor) for p in parts if p.cursor is not None]
    boundary = max(stops) if stops else None
    if boundary is not None:
        rows = [j for j in rows if (j.failed_at, j.id) >= boundary]
    complete = all(p.complete for p in parts)
    if len(rows) > limit:
        rows = rows[:limit]
        return FailedPage(rows, cursor_of(rows[-1].failed_at, rows[-1].id), complete)
    if boundary is None:
        return FailedPage(rows, None, complete)
    if rows:
        return FailedPage(rows, cursor_of(rows[-1].failed_at, rows[-1].id), complete)
    return FailedPage(rows, cursor_of(*boundary), complete)
