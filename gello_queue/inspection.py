"""The read model and admin actions that the CLI and the dashboard use.

One ``Inspector`` over a ``Queue``: bounded-cost snapshots, listings and actions, the same
for every driver. Tools never call a driver directly.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import orjson

from gello_queue.core.errors import GelloError, JobNotFoundError, NotSupportedError
from gello_queue.core.redaction import redact as redact  # the dashboard's payload rule
from gello_queue.core.states import JobState
from gello_queue.health import backend_restarts
from gello_queue.ports import (
    Capability,
    FailedJob,
    JobRecord,
    QueueCounts,
    QueueDriver,
    ThroughputBucket,
    WorkerRecord,
    require,
)
from gello_queue.queue import Queue

SCAN_PAGE = 500
"""Failed jobs read per call when a filter must look at every row."""

LISTABLE = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED)

MIN_PREFIX = 8
"""The shortest id prefix taken for an id, as git takes short hashes."""
CANDIDATES = 10
"""Ids an ambiguous prefix names at most."""
PREFIX_SCAN = 20_000
"""Failed jobs read at most to match a prefix on a driver without a prefix lookup."""


class AmbiguousIdError(GelloError):
    """An id prefix matches several jobs."""


@runtime_checkable
class FailedIdsByPrefix(Protocol):
    """A driver that finds failed-job ids by prefix in its failed index."""

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]: ...


@runtime_checkable
class ServerWarnings(Protocol):
    """A driver that knows what is wrong with its server's settings."""

    def server_warnings(self) -> list[str]: ...


@runtime_checkable
class JobIdsByPrefix(Protocol):
    """A driver that finds queued-job ids (pending, scheduled, reserved) by prefix."""

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]: ...


def short_ids(ids: Sequence[str], minimum: int = MIN_PREFIX) -> dict[str, str]:
    """Each id's shortest prefix of at least ``minimum`` characters that no other of
    ``ids`` starts with: a column narrow enough to read, and each entry accepted back
    wherever an id is (UUIDv7 ids made in the same millisecond share 13 characters)."""
    ordered = sorted(set(ids))
    out: dict[str, str] = {}
    for i, job_id in enumerate(ordered):
        # Sorted, an id shares the most with its neighbours.
        shared = max(
            (_common(job_id, o) for o in ordered[max(i - 1, 0) : i + 2] if o != job_id), default=0
        )
        out[job_id] = job_id[: max(minimum, shared + 1)]
    return out


@dataclass(frozen=True, slots=True)
class QueueStats:
    """One queue's row in an overview."""

    name: str
    pending: int
    scheduled: int
    reserved: int
    failed: int
    wait_s: float
    processed_per_min: float
    failed_per_min: float
    workers: int
    paused: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything an overview shows, read in a few backend calls."""

    taken_at: float
    queues: dict[str, QueueCounts]
    workers: list[WorkerRecord]
    paused: set[str]
    throughput: list[ThroughputBucket]
    recent_failures: list[FailedJob] = field(default_factory=list)
    restarts: dict[str, Any] | None = None
    """Restarts of the backend server that workers noticed (see ``health.backend_restarts``)."""

    def wait_s(self, queue: str) -> float:
        """Age of the oldest pending job of ``queue`` (0 when none)."""
        counts = self.queues.get(queue)
        if counts is None or counts.oldest_pending_at is None:
            return 0.0
        return max(self.taken_at - counts.oldest_pending_at, 0.0)

    def consumers(self, queue: str) -> list[WorkerRecord]:
        """Live workers that serve ``queue``."""
        return [w for w in self.workers if queue in w.queues]

    def series(self, queue: str | None = None, minutes: int = 60) -> list[tuple[int, int]]:
        """(processed, failed) per minute, oldest first, the current minute last."""
        current = int(self.taken_at // 60) * 60
        first = current - (minutes - 1) * 60
        out = [[0, 0] for _ in range(minutes)]
        for b in self.throughput:
            if (queue is None or b.queue == queue) and first <= b.minute <= current:
                slot = out[(b.minute - first) // 60]
                slot[0] += b.processed
                slot[1] += b.failed
        return [(p, f) for p, f in out]

    def per_minute(self, queue: str | None = None) -> tuple[float, float]:
        """Processed and failed jobs per minute, over the last full minute and this one."""
        recent = self.series(queue, minutes=2)
        span_min = (60 + self.taken_at % 60) / 60
        return (
            sum(p for p, _ in recent) / span_min,
            sum(f for _, f in recent) / span_min,
        )

    def failed_last_hour(self, queue: str | None = None) -> int:
        """Jobs that failed in the last 60 minutes."""
        return sum(f for _, f in self.series(queue))

    def pending(self) -> int:
        """Pending jobs over every queue."""
        return sum(c.pending for c in self.queues.values())

    def max_wait(self) -> tuple[str | None, float]:
        """The queue whose oldest pending job has waited longest, and for how long."""
        best: tuple[str | None, float] = (None, 0.0)
        for name in self.queues:
            wait = self.wait_s(name)
            if wait > best[1]:
                best = (name, wait)
        return best

    def busy(self) -> tuple[int, int]:
        """Busy slots and total concurrency over live workers."""
        return (
            sum(min(len(w.current_jobs), w.concurrency) for w in self.workers),
            sum(w.concurrency for w in self.workers),
        )

    def stats(self, queue: str) -> QueueStats:
        """The overview row of ``queue``."""
        counts = self.queues.get(queue, QueueCounts())
        processed, failed = self.per_minute(queue)
        return QueueStats(
            name=queue,
            pending=counts.pending,
            scheduled=counts.scheduled,
            reserved=counts.reserved,
            failed=counts.failed,
            wait_s=self.wait_s(queue),
            processed_per_min=processed,
            failed_per_min=failed,
            workers=len(self.consumers(queue)),
            paused=queue in self.paused,
        )

    def all_stats(self) -> list[QueueStats]:
        """Rows for every known queue, by name."""
        return [self.stats(q) for q in sorted(self.queues)]

    def unconsumed(self) -> list[QueueStats]:
        """Queues with waiting jobs that no live worker serves and that are not paused."""
        return [
            q
            for q in self.all_stats()
            if q.workers == 0 and not q.paused and (q.pending or q.scheduled)
        ]

    def only(self, queues: Sequence[str]) -> Snapshot:
        """The same facts restricted to ``queues`` (and the workers serving them)."""
        keep = set(queues)
        return replace(
            self,
            queues={q: self.queues.get(q, QueueCounts()) for q in queues},
            workers=[w for w in self.workers if keep.intersection(w.queues)],
            paused=self.paused & keep,
            throughput=[b for b in self.throughput if b.queue in keep],
            recent_failures=[f for f in self.recent_failures if f.queue in keep],
        )


_FILTER_KEYS = {"queue": "queue", "q": "queue", "name": "name", "job": "name"}
_FILTER_KEYS |= {"exc": "exception", "exception": "exception", "error": "exception"}
_FILTER_KEYS |= {"fp": "fingerprint", "group": "fingerprint"}

_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f-]{27,}|0x[0-9a-f]+|\b[0-9a-f]{12,}\b|'[^']*'|\"[^\"]*\"|\d+(\.\d+)?",
    re.IGNORECASE,
)


def fingerprint(job: FailedJob) -> str:
    """Groups failures that are "the same": job, exception type and the message with
    ids, numbers and quoted values taken out."""
    normal = _VOLATILE.sub("#", job.message)
    return hashlib.sha1(f"{job.name}|{job.exception}|{normal}".encode()).hexdigest()[:10]


@dataclass(frozen=True, slots=True)
class FailedFilter:
    """Which failed jobs an action or listing concerns; every part must match.

    ``name``, ``exception`` and ``text`` are case-insensitive substrings; ``text`` is
    searched in the id, job name, exception and message.
    """

    queue: str | None = None
    name: str | None = None
    exception: str | None = None
    text: str | None = None
    fingerprint: str | None = None

    @classmethod
    def parse(cls, query: str) -> FailedFilter:
        """``queue:emails name:Invoice exc:Timeout "some words"`` → a filter."""
        parts: dict[str, str] = {}
        words: list[str] = []
        try:
            tokens = shlex.split(query)
        except ValueError:
            tokens = query.split()
        for token in tokens:
            key, sep, value = token.partition(":")
            if sep and key.lower() in _FILTER_KEYS and value:
                parts[_FILTER_KEYS[key.lower()]] = value
            else:
                words.append(token)
        return cls(text=" ".join(words) or None, **parts)

    @property
    def only_queue(self) -> bool:
        """True when the driver can apply the whole filter itself."""
        return (
            self.name is None
            and self.exception is None
            and self.text is None
            and self.fingerprint is None
        )

    def matches(self, job: FailedJob) -> bool:
        """Whether ``job`` is selected."""
        if self.queue is not None and job.queue != self.queue:
            return False
        if self.name is not None and self.name.lower() not in job.name.lower():
            return False
        if self.exception is not None and self.exception.lower() not in job.exception.lower():
            return False
        if self.fingerprint is not None and fingerprint(job) != self.fingerprint:
            return False
        if self.text is not None:
            haystack = f"{job.id} {job.name} {job.exception} {job.message}".lower()
            return self.text.lower() in haystack
        return True

    def describe(self) -> str:
        """The filter in the query language (empty when it selects everything)."""
        parts = [
            f"{k}:{v}"
            for k, v in (
                ("queue", self.queue),
                ("name", self.name),
                ("exc", self.exception),
                ("fp", self.fingerprint),
            )
            if v is not None
        ]
        if self.text is not None:
            parts.append(shlex.quote(self.text) if " " in self.text else self.text)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Failed jobs that share a fingerprint (see ``fingerprint``)."""

    fingerprint: str
    name: str
    exception: str
    message: str
    """The newest failure's message, as an example."""
    count: int
    queues: list[str]
    newest_at: float
    oldest_at: float


@dataclass(frozen=True, slots=True)
class JobDetail:
    """Every field of one job, whether still queued or in the failed store."""

    id: str
    queue: str
    name: str
    state: JobState
    attempts: int
    max_attempts: int | None
    priority: int | None
    created_at: float | None
    available_at: float | None
    body: str
    payload: Any
    envelope: dict[str, Any] | None
    reserved_by: str | None = None
    lease_expires_at: float | None = None
    failed_at: float | None = None
    exception: str | None = None
    message: str | None = None
    traceback: str | None = None


def _decode(body: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def detail_of_record(record: JobRecord) -> JobDetail:
    """A queued job's detail."""
    env = _decode(record.body) or {}
    return JobDetail(
        id=record.id,
        queue=record.queue,
        name=str(env.get("name", "?")),
        state=record.state,
        attempts=record.attempts,
        max_attempts=env.get("max_attempts"),
        priority=record.priority,
        created_at=record.created_at,
        available_at=record.available_at,
        body=record.body,
        payload=env.get("payload"),
        envelope=env or None,
        reserved_by=record.reserved_by,
        lease_expires_at=record.lease_expires_at,
    )


def detail_of_failed(job: FailedJob) -> JobDetail:
    """A failed job's detail."""
    env = _decode(job.body)
    return JobDetail(
        id=job.id,
        queue=job.queue,
        name=job.name,
        state=JobState.FAILED,
        attempts=job.attempts,
        max_attempts=None if env is None else env.get("max_attempts"),
        priority=None if env is None else env.get("priority"),
        created_at=None if env is None else env.get("created_at"),
        available_at=None if env is None else env.get("available_at"),
        body=job.body,
        payload=job.payload(),
        envelope=env,
        failed_at=job.failed_at,
        exception=job.exception,
        message=job.message,
        traceback=job.traceback,
    )


class Inspector:
    """Reads and manages one connection's queues."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def _driver(self, capability: Capability | None = None) -> QueueDriver:
        driver = await self.queue.driver()
        if capability is not None:
            require(driver, capability)
        return driver

    async def snapshot(
        self, *, throughput_window_s: float = 3600, recent_failures: int = 0
    ) -> Snapshot:
        """Queues by state, live workers, paused queues and per-minute throughput.

        Bounded cost whatever the backlog: one call per kind of fact, plus one page of
        the newest ``recent_failures`` failed jobs when asked.
        """
        driver = await self._driver()
        now = await driver.now()
        counts = await driver.counts()
        paused = await driver.paused()
        for name in paused:
            counts.setdefault(name, QueueCounts())
        recent = await driver.failed_list(limit=recent_failures) if recent_failures else []
        return Snapshot(
            taken_at=now,
            queues=counts,
            workers=await driver.workers(),
            paused=paused,
            throughput=await driver.throughput(now - throughput_window_s),
            recent_failures=recent,
            restarts=await backend_restarts(driver),
        )

    # -- listings --------------------------------------------------------------------
    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        """One page of pending, scheduled or reserved jobs, oldest first.

        Raises:
            NotSupportedError: the driver cannot list jobs, or ``state`` is not listable.
        """
        if state not in LISTABLE:
            raise NotSupportedError(f"cannot list {state} jobs: use pending, scheduled or reserved")
        driver = await self._driver(Capability.LIST_JOBS)
        return await driver.jobs(queue, state, limit=limit, offset=offset)

    async def failed(
        self,
        *,
        queue: str | None = None,
        limit: int = 50,
        offset: int = 0,
        match: FailedFilter | None = None,
        scan_limit: int | None = 20_000,
    ) -> list[FailedJob]:
        """Failed jobs, newest first; ``match`` narrows them.

        A filter beyond the queue is applied while paging through the store, reading at
        most ``scan_limit`` rows (``None``: all), so a listing stays cheap on a huge store.
        """
        match = _merge(match, queue)
        if match.only_queue:
            return await (await self._driver()).failed_list(
                queue=match.queue, limit=limit, offset=offset
            )
        out: list[FailedJob] = []
        skipped = 0
        async for job in self._scan(match, scan_limit):
            if skipped < offset:
                skipped += 1
                continue
            out.append(job)
            if len(out) >= limit:
                break
        return out

    async def failure_groups(
        self, match: FailedFilter | None = None, *, scan_limit: int | None = 5_000
    ) -> tuple[list[FailureGroup], int]:
        """Failures grouped by fingerprint, biggest first, over the newest ``scan_limit``
        failed jobs; also return how many jobs were read."""
        match = _merge(match, None)
        groups: dict[str, list[FailedJob]] = {}
        read = 0
        async for job in self._scan(FailedFilter(queue=match.queue), scan_limit):
            read += 1
            if match.matches(job):
                groups.setdefault(fingerprint(job), []).append(job)
        out = [
            FailureGroup(
                fingerprint=fp,
                name=jobs[0].name,
                exception=jobs[0].exception,
                message=jobs[0].message,
                count=len(jobs),
                queues=sorted({j.queue for j in jobs}),
                newest_at=max(j.failed_at for j in jobs),
                oldest_at=min(j.failed_at for j in jobs),
            )
            for fp, jobs in groups.items()
        ]
        return sorted(out, key=lambda g: (-g.count, -g.newest_at)), read

    async def count_failed(self, match: FailedFilter | None = None) -> int:
        """How many failed jobs ``match`` selects (reads them all when it must)."""
        match = _merge(match, None)
        if match.only_queue:
            return await (await self._driver()).failed_count(match.queue)
        return len(await self._matching_ids(match))

    async def _scan(self, match: FailedFilter, scan_limit: int | None) -> AsyncIterator[FailedJob]:
        driver = await self._driver()
        offset = 0
        while scan_limit is None or offset < scan_limit:
            size = SCAN_PAGE if scan_limit is None else min(SCAN_PAGE, scan_limit - offset)
            page = await driver.failed_list(queue=match.queue, limit=size, offset=offset)
            for job in page:
                if match.matches(job):
                    yield job
            if len(page) < size:
                return
            offset += len(page)

    async def _matching_ids(self, match: FailedFilter) -> list[str]:
        return [job.id async for job in self._scan(match, None)]

    async def job(self, job_id: str) -> JobDetail:
        """One job, queued or failed, with every field.

        Raises:
            JobNotFoundError: no queued or failed job has that id.
        """
        driver = await self._driver()
        record = await driver.find(job_id)
        if record is not None:
            return detail_of_record(record)
        failed = await driver.failed_find(job_id)
        if failed is not None:
            return detail_of_failed(failed)
        raise JobNotFoundError(f"no job with id {job_id}: it may have completed or been deleted")

    async def failed_job(self, job_id: str) -> FailedJob:
        """One failed job.

        Raises:
            JobNotFoundError: no failed job has that id.
        """
        found = await (await self._driver()).failed_find(job_id)
        if found is None:
            raise JobNotFoundError(f"no failed job with id {job_id}: see `gello queue:failed`")
        return found

    async def server_warnings(self) -> list[str]:
        """What is wrong with the backend server's settings (PostgreSQL without
        autovacuum), one sentence each; said here and once per worker start, not by
        every command."""
        driver = await self._driver()
        return driver.server_warnings() if isinstance(driver, ServerWarnings) else []

    # -- ids by prefix ---------------------------------------------------------------
    async def resolve_failed_ids(self, given: Sequence[str]) -> list[str]:
        """The failed-job ids ``given`` names: each a full id or a unique prefix of at least
        ``MIN_PREFIX`` characters; one that matches nothing is kept as given (the action
        then counts it not found).

        Raises:
            AmbiguousIdError: a prefix matches several failed jobs (they are named).
        """
        driver = await self._driver()
        out = []
        for job_id in given:
            if len(job_id) < MIN_PREFIX or await driver.failed_find(job_id) is not None:
                out.append(job_id)
                continue
            out.append(_one(job_id, await self._failed_prefixed(driver, job_id), "failed jobs"))
        return out

    async def resolve_job_id(self, given: str) -> str:
        """The id of the queued or failed job ``given`` names (a full id or a unique prefix
        of at least ``MIN_PREFIX`` characters); ``given`` when nothing matches.

        Raises:
            AmbiguousIdError: the prefix matches several jobs (they are named).
        """
        driver = await self._driver()
        if len(given) < MIN_PREFIX or await driver.find(given) is not None:
            return given
        queued = (
            await driver.job_ids_by_prefix(given, CANDIDATES + 1)
            if isinstance(driver, JobIdsByPrefix)
            else []
        )
        found = sorted({*queued, *await self._failed_prefixed(driver, given)})
        return _one(given, found, "jobs")

    async def _failed_prefixed(self, driver: QueueDriver, prefix: str) -> list[str]:
        if isinstance(driver, FailedIdsByPrefix):
            return await driver.failed_ids_by_prefix(prefix, CANDIDATES + 1)
        found: list[str] = []
        async for job in self._scan(FailedFilter(), PREFIX_SCAN):
            if job.id.startswith(prefix):
                found.append(job.id)
                if len(found) > CANDIDATES:
                    break
        return found

    # -- failed store actions --------------------------------------------------------
    async def retry(self, job_ids: Sequence[str]) -> int:
        """Put failed jobs back on their queues; return how many (missing ids skipped)."""
        return await (await self._driver()).failed_retry(job_ids)

    async def retry_jobs(self, job_ids: Sequence[str]) -> int:
        """Like ``retry``, but an action that found none of the jobs is an error.

        Raises:
            JobNotFoundError: none of the ids is in the failed store.
        """
        done = await self.retry(job_ids)
        if job_ids and not done:
            raise JobNotFoundError(_gone(job_ids, "failed"))
        return done

    async def retry_all(self, queue: str | None = None) -> int:
        """Retry every failed job (of one queue); return how many."""
        return await (await self._driver()).failed_retry_all(queue)

    async def retry_matching(self, match: FailedFilter | None = None) -> int:
        """Retry every failed job ``match`` selects; return how many."""
        match = _merge(match, None)
        if match.only_queue:
            return await self.retry_all(match.queue)
        ids = await self._matching_ids(match)
        done = 0
        for start in range(0, len(ids), SCAN_PAGE):
            done += await self.retry(ids[start : start + SCAN_PAGE])
        return done

    async def forget(self, job_id: str) -> bool:
        """Delete one failed job."""
        return await (await self._driver()).failed_forget(job_id)

    async def forget_jobs(self, job_ids: Sequence[str]) -> int:
        """Delete failed jobs; return how many.

        Raises:
            JobNotFoundError: none of the ids is in the failed store.
        """
        done = 0
        for job_id in job_ids:
            done += await self.forget(job_id)
        if job_ids and not done:
            raise JobNotFoundError(_gone(job_ids, "failed"))
        return done

    async def flush(self, queue: str | None = None) -> int:
        """Delete every failed job (of one queue); return how many."""
        return await (await self._driver()).failed_flush(queue)

    async def purge_matching(self, match: FailedFilter | None = None) -> int:
        """Delete every failed job ``match`` selects; return how many."""
        match = _merge(match, None)
        if match.only_queue:
            return await self.flush(match.queue)
        return await self.forget_jobs(await self._matching_ids(match))

    async def prune_failed(self, older_than_s: float) -> int:
        """Delete failed jobs older than ``older_than_s``; return how many."""
        driver = await self._driver()
        return await driver.failed_prune(await driver.now() - older_than_s)

    # -- queue and job actions -------------------------------------------------------
    async def clear(self, queue: str) -> int:
        """Delete the pending and scheduled jobs of ``queue``; return how many.

        Raises:
            NotSupportedError: the driver cannot clear a queue.
        """
        return await (await self._driver(Capability.CLEAR)).clear(queue)

    async def pause(self, queue: str) -> None:
        """Workers skip ``queue`` until it is resumed."""
        await (await self._driver()).pause(queue)

    async def resume(self, queue: str) -> None:
        """Workers take jobs from ``queue`` again."""
        await (await self._driver()).resume(queue)

    async def run_now(self, job_id: str) -> int:
        """Make a scheduled job available now; return 1.

        Raises:
            JobNotFoundError: no scheduled job has that id.
        """
        if not await (await self._driver()).promote(job_id):
            raise JobNotFoundError(_gone([job_id], "scheduled"))
        return 1

    async def cancel(self, job_id: str) -> int:
        """Delete a pending or scheduled job; return 1.

        Raises:
            NotSupportedError: the driver cannot cancel jobs.
            JobNotFoundError: no pending or scheduled job has that id (a running job
                cannot be cancelled).
        """
        if not await (await self._driver(Capability.CANCEL)).cancel(job_id):
            raise JobNotFoundError(_gone([job_id], "pending or scheduled"))
        return 1

    async def restart_workers(self) -> float:
        """Ask every worker to exit after its current jobs."""
        return await (await self._driver()).signal_restart()


def _common(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _one(prefix: str, found: Sequence[str], what: str) -> str:
    if len(found) <= 1:
        return found[0] if found else prefix
    shown = ", ".join(found[:CANDIDATES]) + (", …" if len(found) > CANDIDATES else "")
    raise AmbiguousIdError(f"id prefix {prefix} matches several {what}: {shown}; give more of it")


def _merge(match: FailedFilter | None, queue: str | None) -> FailedFilter:
    match = match or FailedFilter()
    if queue is not None and match.queue is None:
        return replace(match, queue=queue)
    return match


def _gone(job_ids: Sequence[str], where: str) -> str:
    shown = ", ".join(job_ids[:3]) + (" …" if len(job_ids) > 3 else "")
    return f"no {where} job with id {shown}: it may have been retried, run or deleted already"


def heartbeat_age(worker: WorkerRecord, now: float | None = None) -> float:
    """Seconds since the worker's last heartbeat."""
    return max((now if now is not None else time.time()) - worker.last_seen, 0.0)


def is_stale(worker: WorkerRecord, now: float, lease_s: float) -> bool:
    """A worker beats every third of a lease: two missed beats is a warning."""
    return heartbeat_age(worker, now) > max(2 * lease_s / 3, 1.0)


def rescue_in(worker: WorkerRecord, now: float, lease_s: float) -> float:
    """Seconds until a silent worker's jobs become rescuable (0 when they are now)."""
    return max(worker.last_seen + lease_s - now, 0.0)
