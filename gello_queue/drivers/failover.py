"""The ``failover`` connection: an ordered list of connections, as Laravel's.

Dispatch goes to the first connection that answers, and a dispatch that had to skip one is
logged (``failed_over``) and counted. Workers serve every connection in the list, so a
job dispatched during, say, a Redis outage (and stored in the database instead) still
runs. A reservation remembers which connection it came from (its token is prefixed with
the connection's index), so acks and releases go back where the job lives.

A connection is taken for down when it raises ``DriverUnavailableError``, the one error
every driver raises for an outage; any other error is a bug or a refusal and goes up.

URL: ``failover:redis://127.0.0.1:6379/0|sqlite:///gello.db`` (``|`` between connections),
or ``QUEUE_DRIVER=failover`` with ``QUEUE_FAILOVER=redis,database``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError, DriverUnavailableError
from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
    merge_groups,
    merge_pages,
)
from gello_queue.core.job_query import JobPage
from gello_queue.core.states import JobState
from gello_queue.core.timing import summed
from gello_queue.observability import get_logger
from gello_queue.ports import (
    BatchRecord,
    Capability,
    CompletedJob,
    FailedJob,
    Failure,
    JobQueries,
    JobRecord,
    OpsEvent,
    Progress,
    QueueCounts,
    QueueDriver,
    RescueResult,
    Reservation,
    ThroughputBucket,
    TimingCount,
    WorkerRecord,
    event_log,
    job_history,
    not_supported,
    progress_store,
    result_store,
    timing_stats,
    wait_once_for_result,
)

T = TypeVar("T")


def _none_answers(last: BaseException | None) -> DriverUnavailableError:
    said = f"; the last said: {last}" if last is not None else ""
    return DriverUnavailableError(f"no connection of the failover answers{said}")


class _Child:
    def __init__(self, driver: QueueDriver) -> None:
        self.driver = driver
        self.up = False
        self.opened = False
        self.tried_at = 0.0


class FailoverDriver:
    """Several drivers behind one port; see the module docstring."""

    name = "failover"

    def __init__(self, drivers: Sequence[QueueDriver], *, retry_after_s: float = 5.0) -> None:
        if len(drivers) < 2:
            raise ValueError("a failover connection needs at least two connections")
        self.children = [_Child(d) for d in drivers]
        self.capabilities = frozenset.intersection(*(d.capabilities for d in drivers))
        self.failovers = 0
        """Dispatches that had to skip a connection that did not answer."""
        self.retry_after_s = retry_after_s
        """How long a connection that did not answer is left alone before it is tried again."""
        self.log = get_logger()

    # -- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        errors = []
        for child in self.children:
            try:
                await self._open(child)
            except DriverUnavailableError as exc:
                errors.append(str(exc))
        if not any(c.up for c in self.children):
            raise DriverUnavailableError(
                "no connection of the failover answers: " + "; ".join(errors)
            )

    async def _open(self, child: _Child) -> None:
        child.tried_at = time.monotonic()
        if not child.opened:
            await child.driver.open()
            child.opened = True
        child.up = True

    async def close(self) -> None:
        for child in self.children:
            if child.opened:
                await child.driver.close()
            child.up = child.opened = False

    async def _live(self) -> list[tuple[int, _Child]]:
        """Children believed up; one that was down is tried again after ``retry_after_s``
        (its client reconnects by itself; a failed call marks it down again)."""
        for child in self.children:
            if not child.up and time.monotonic() - child.tried_at >= self.retry_after_s:
                with contextlib.suppress(DriverUnavailableError):
                    await self._open(child)
        return [(i, c) for i, c in enumerate(self.children) if c.up]

    def _down(self, child: _Child, error: BaseException) -> None:
        if child.up:
            self.log.error("connection_down", driver=child.driver.name, error=str(error))
        child.up = False
        child.tried_at = time.monotonic()

    async def _first(
        self, call: Callable[[QueueDriver], Awaitable[T]], *, dispatch: bool = False
    ) -> T:
        """The answer of the first child that answers."""
        skipped = 0
        last: BaseException | None = None
        for _, child in await self._live():
            try:
                result = await call(child.driver)
            except DriverUnavailableError as exc:
                self._down(child, exc)
                skipped, last = skipped + 1, exc
                continue
            if dispatch and (skipped or child is not self.children[0]):
                self.failovers += 1
                self.log.warning("failed_over", to=child.driver.name, failovers=self.failovers)
            return result
        raise _none_answers(last)

    async def _each(self, call: Callable[[QueueDriver], Awaitable[T]]) -> list[tuple[int, T]]:
        """The answers of every child that answers; an outage when none does."""
        out: list[tuple[int, T]] = []
        last: BaseException | None = None
        for index, child in await self._live():
            try:
                out.append((index, await call(child.driver)))
            except DriverUnavailableError as exc:
                self._down(child, exc)
                last = exc
        if not out:
            raise _none_answers(last)
        return out

    @property
    def home(self) -> QueueDriver:
        """The connection that holds locks, counters and batch records: the last one.

        Every process must find a lock where another took it, whatever answered its
        dispatches, so they live on one fixed connection. The last is the fallback the
        failover exists to keep answering (the database behind a Redis), so they stay
        available through an outage of the first.
        """
        return self.children[-1].driver

    async def now(self) -> float:
        return await self._first(lambda d: d.now())

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        return await self._first(lambda d: d.push(envelopes), dispatch=True)

    # -- consuming -------------------------------------------------------------------
    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        out: list[Reservation] = []
        answered, last = False, None
        for index, child in await self._live():
            if len(out) >= limit:
                break
            try:
                got = await child.driver.reserve(
                    queues, limit - len(out), lease_s=lease_s, worker_id=worker_id
                )
            except DriverUnavailableError as exc:
                self._down(child, exc)
                last = exc
                continue
            answered = True
            out += [replace(r, token=f"{index}|{r.token}") for r in got]
        if not answered:
            raise _none_answers(last)
        return out

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        live = await self._live()
        if not live:
            await asyncio.sleep(timeout_s)
            return
        waits = [asyncio.ensure_future(c.driver.wait(queues, timeout_s)) for _, c in live]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, DriverUnavailableError):
                raise error

    def _route(self, res: Reservation) -> tuple[_Child, Reservation] | None:
        """The connection a reservation came from; None for a token this failover never
        gave, which is refused like a stale one."""
        index, _, token = res.token.partition("|")
        if not index.isdigit() or int(index) >= len(self.children):
            return None
        return self.children[int(index)], replace(res, token=token)

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        groups: dict[int, list[Reservation]] = {}
        lost: list[str] = []
        for res in reservations:
            if (routed := self._route(res)) is None:
                lost.append(res.id)
                continue
            child, inner = routed
            groups.setdefault(self.children.index(child), []).append(inner)
        for i, rs in groups.items():
            lost += await self.children[i].driver.ack(rs)
        return lost

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        if (routed := self._route(reservation)) is None:
            return False
        child, inner = routed
        return await child.driver.release(inner, envelope, delay_s)

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        if (routed := self._route(reservation)) is None:
            return False
        child, inner = routed
        return await child.driver.fail(inner, body, failure)

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        lost: list[str] = []
        for res in reservations:
            if (routed := self._route(res)) is None:
                lost.append(res.id)
                continue
            child, inner = routed
            lost += await child.driver.extend([inner], lease_s)
        return lost

    async def rescue(self) -> RescueResult:
        result = RescueResult()
        for _, part in await self._each(lambda d: d.rescue()):
            result.extend(part)
        return result

    # -- inspecting and managing -----------------------------------------------------
    async def counts(self) -> dict[str, QueueCounts]:
        merged: dict[str, QueueCounts] = {}
        for _, part in await self._each(lambda d: d.counts()):
            for queue, c in part.items():
                m = merged.get(queue, QueueCounts())
                oldest = [t for t in (m.oldest_pending_at, c.oldest_pending_at) if t is not None]
                merged[queue] = QueueCounts(
                    m.pending + c.pending,
                    m.scheduled + c.scheduled,
                    m.reserved + c.reserved,
                    m.failed + c.failed,
                    min(oldest) if oldest else None,
                )
        return dict(sorted(merged.items()))

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def clear(self, queue: str) -> int:
        return sum(n for _, n in await self._each(lambda d: d.clear(queue)))

    async def find(self, job_id: str) -> JobRecord | None:
        for _, found in await self._each(lambda d: d.find(job_id)):
            if found is not None:
                return found
        return None

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        rows: list[JobRecord] = []
        for _, part in await self._each(lambda d: d.jobs(queue, state, limit=limit + offset)):
            rows += part
        rows.sort(key=lambda r: (r.available_at, r.id))
        return rows[offset : offset + limit]

    async def cancel(self, job_id: str) -> bool:
        return any(ok for _, ok in await self._each(lambda d: d.cancel(job_id)))

    async def promote(self, job_id: str) -> bool:
        return any(ok for _, ok in await self._each(lambda d: d.promote(job_id)))

    # -- the failed store ------------------------------------------------------------
    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        rows: list[FailedJob] = []
        for _, part in await self._each(lambda d: d.failed_list(queue=queue, limit=limit + offset)):
            rows += part
        rows.sort(key=lambda f: (f.failed_at, f.id), reverse=True)
        return rows[offset : offset + limit]

    async def failed_count(self, queue: str | None = None) -> int:
        return sum(n for _, n in await self._each(lambda d: d.failed_count(queue)))

    async def failed_find(self, job_id: str) -> FailedJob | None:
        for _, found in await self._each(lambda d: d.failed_find(job_id)):
            if found is not None:
                return found
        return None

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        return sum(n for _, n in await self._each(lambda d: d.failed_retry(job_ids)))

    async def failed_retry_all(self, queue: str | None = None) -> int:
        return sum(n for _, n in await self._each(lambda d: d.failed_retry_all(queue)))

    async def failed_forget(self, job_id: str) -> bool:
        return any(ok for _, ok in await self._each(lambda d: d.failed_forget(job_id)))

    async def failed_flush(self, queue: str | None = None) -> int:
        return sum(n for _, n in await self._each(lambda d: d.failed_flush(queue)))

    async def failed_prune(self, before: float) -> int:
        return sum(n for _, n in await self._each(lambda d: d.failed_prune(before)))

    # -- workers and control ---------------------------------------------------------
    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        await self._each(lambda d: d.worker_beat(record, ttl_s))

    async def worker_gone(self, worker_id: str) -> None:
        await self._each(lambda d: d.worker_gone(worker_id))

    async def worker_command(self, worker_id: str, command: str) -> None:
        await self._each(lambda d: d.worker_command(worker_id, command))

    async def worker_command_take(self, worker_id: str) -> str | None:
        taken = [c for _, c in await self._each(lambda d: d.worker_command_take(worker_id))]
        return next((c for c in taken if c is not None), None)

    async def workers(self) -> list[WorkerRecord]:
        seen: dict[str, WorkerRecord] = {}
        for _, part in await self._each(lambda d: d.workers()):
            for record in part:
                if record.id not in seen or record.last_seen > seen[record.id].last_seen:
                    seen[record.id] = record
        return sorted(seen.values(), key=lambda r: r.id)

    async def pause(self, queue: str) -> None:
        await self._each(lambda d: d.pause(queue))

    async def resume(self, queue: str) -> None:
        await self._each(lambda d: d.resume(queue))

    async def paused(self) -> set[str]:
        out: set[str] = set()
        for _, part in await self._each(lambda d: d.paused()):
            out |= part
        return out

    async def signal_restart(self) -> float:
        return max(at for _, at in await self._each(lambda d: d.signal_restart()))

    async def restart_signal(self) -> float | None:
        times = [at for _, at in await self._each(lambda d: d.restart_signal()) if at]
        return max(times) if times else None

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        await self._first(lambda d: d.record_throughput(counts, minute))

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        rows: list[ThroughputBucket] = []
        for _, part in await self._each(lambda d: d.throughput(since)):
            rows += part
        return sorted(rows, key=lambda b: (b.minute, b.queue))

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        # With the throughput: on the first connection that answers.
        await self._first(lambda d: timing_stats(d).record_timings(counts))

    async def timings(self, since: float) -> list[TimingCount]:
        parts = await self._each(lambda d: timing_stats(d).timings(since))
        return summed(c for _, part in parts for c in part)

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        # With the throughput: on the first connection that answers.
        await self._first(lambda d: event_log(d).events_add(events))

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        parts = await self._each(lambda d: event_log(d).events_recent(limit=limit, since=since))
        merged = [e for _, part in parts for e in part]
        return sorted(merged, key=lambda e: e.at, reverse=True)[:limit]

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        return await self._first(lambda d: d.failed_import(records))

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        parts = [
            p
            for _, p in await self._each(
                lambda d: d.failed_search(query, limit=limit, cursor=cursor)
            )
        ]
        return merge_pages(parts, limit)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        parts = [t for _, t in await self._each(lambda d: d.failed_tally(query))]
        return FailedTally(sum(t.count for t in parts), all(t.complete for t in parts))

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        return merge_groups([g for _, g in await self._each(lambda d: d.failed_groups(query))])

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        # One merged page across the connections, so a single cursor continues them all.
        page = await self.failed_search(query, limit=limit, cursor=cursor)
        return FailedStep(await self.failed_retry([f.id for f in page.jobs]), page.cursor)

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        page = await self.failed_search(query, limit=limit, cursor=cursor)
        done = 0
        for job in page.jobs:
            done += await self.failed_forget(job.id)
        return FailedStep(done, page.cursor)

    # -- jobs by filter: connection after connection --------------------------------
    # The children's cursors differ (SQL by time, Redis by zset), so the connections are
    # walked one after the other: the cursor names the connection and holds its own.
    def _queries(self, driver: QueueDriver) -> JobQueries:
        if not isinstance(driver, JobQueries):
            raise not_supported(driver.name, Capability.LIST_JOBS, "search jobs by a filter")
        return driver

    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        start, inner = _split_cursor(cursor)
        jobs: list[JobRecord] = []
        complete = True
        live = [(i, c) for i, c in await self._live() if i >= start]
        for n, (index, child) in enumerate(live):
            own = inner if index == start else None
            try:
                page = await self._queries(child.driver).jobs_search(
                    state, query, limit=limit - len(jobs), cursor=own
                )
            except DriverUnavailableError as exc:
                self._down(child, exc)
                complete = False
                continue
            jobs += page.jobs
            complete = complete and page.complete
            if page.cursor is not None:
                return JobPage(jobs, _join_cursor(index, page.cursor), complete)
            if len(jobs) >= limit:
                later = await self._first_holding(state, query, live[n + 1 :])
                return JobPage(jobs, None if later is None else _join_cursor(later, None), complete)
        return JobPage(jobs, None, complete)

    async def _first_holding(
        self, state: JobState, query: FailedQuery, children: list[tuple[int, _Child]]
    ) -> int | None:
        """The first of ``children`` with a job ``query`` selects: where a full page's
        next one starts (None: the page was the last)."""
        for index, child in children:
            try:
                page = await self._queries(child.driver).jobs_search(state, query, limit=1)
            except DriverUnavailableError as exc:
                self._down(child, exc)
                continue
            if page.jobs or page.cursor is not None:
                return index
        return None

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        parts = [
            t for _, t in await self._each(lambda d: self._queries(d).jobs_tally(state, query))
        ]
        return FailedTally(sum(t.count for t in parts), all(t.complete for t in parts))

    async def _job_step(
        self, cursor: str | None, step: Callable[[JobQueries, str | None], Awaitable[FailedStep]]
    ) -> FailedStep:
        start, inner = _split_cursor(cursor)
        live = [(i, c) for i, c in await self._live() if i >= start]
        for n, (index, child) in enumerate(live):
            try:
                done = await step(self._queries(child.driver), inner if index == start else None)
            except DriverUnavailableError as exc:
                self._down(child, exc)
                continue
            if done.cursor is not None:
                return FailedStep(done.done, _join_cursor(index, done.cursor))
            later = _join_cursor(live[n + 1][0], None) if n + 1 < len(live) else None
            return FailedStep(done.done, later)
        return FailedStep(0, None)

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._job_step(
            cursor, lambda d, c: d.jobs_cancel_step(state, query, limit=limit, cursor=c)
        )

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._job_step(
            cursor, lambda d, c: d.jobs_promote_step(query, limit=limit, cursor=c)
        )

    # -- coordination and batches: on the home connection ----------------------------
    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        return await self.home.counter_incr(key, by, ttl_s)

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        return await self.home.lock_acquire(key, owner, ttl_s)

    async def lock_release(self, key: str, owner: str) -> bool:
        return await self.home.lock_release(key, owner)

    async def lock_owner(self, key: str) -> str | None:
        return await self.home.lock_owner(key)

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        # Where any process asking for it finds it, whatever ran the job.
        await result_store(self.home).result_put(job_id, data, ttl_s)

    async def result_get(self, job_id: str) -> str | None:
        return await result_store(self.home).result_get(job_id)

    async def result_wait(self, job_id: str, timeout_s: float) -> str | None:
        return await wait_once_for_result(self.home, job_id, timeout_s)

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        # Home, as results: where any process asking finds it, whatever runs the job.
        await progress_store(self.home).progress_put(job_id, progress, ttl_s)

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        return await progress_store(self.home).progress_get(job_ids)

    # -- completed jobs: kept by the connection that ran each one ---------------------
    async def ack_recording(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        # Each connection acks its own jobs and keeps their records in the same call.
        groups: dict[int, list[Reservation]] = {}
        lost: list[str] = []
        for res in reservations:
            if (routed := self._route(res)) is None:
                lost.append(res.id)
                continue
            child, inner = routed
            groups.setdefault(self.children.index(child), []).append(inner)
        named: set[str] = set()
        for i, rs in groups.items():
            ids = {r.id for r in rs}
            named |= ids
            records = [c for c in completed if c.id in ids]
            lost += await job_history(self.children[i].driver).ack_recording(rs, records, keep)
        if rest := [c for c in completed if c.id not in named and c.id not in lost]:
            # Records of jobs acked elsewhere: on the first connection that answers.
            await self._first(lambda d: job_history(d).ack_recording([], rest, keep))
        return lost

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        parts = await self._each(
            lambda d: job_history(d).recent(
                queue=queue, name=name, limit=limit, since=since, tag=tag
            )
        )
        merged = [c for _, part in parts for c in part]
        merged.sort(key=lambda c: (c.finished_at, c.id), reverse=True)
        return merged[: max(limit, 0)]

    async def history_counts(self) -> dict[str, int]:
        merged: dict[str, int] = {}
        for _, part in await self._each(lambda d: job_history(d).history_counts()):
            for queue, n in part.items():
                merged[queue] = merged.get(queue, 0) + n
        return merged

    async def history_trim(self, keep: int) -> int:
        return sum(n for _, n in await self._each(lambda d: job_history(d).history_trim(keep)))

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        parts = await self._each(
            lambda d: job_history(d).history_prune(before, monitored_before=monitored_before)
        )
        return sum(n for _, n in parts)

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        # On every connection that answers: a worker may read the tags from any of them.
        parts = await self._each(lambda d: job_history(d).tag_monitor(tag, monitored))
        return any(changed for _, changed in parts)

    async def tags_monitored(self) -> list[str]:
        parts = await self._each(lambda d: job_history(d).tags_monitored())
        return sorted({tag for _, part in parts for tag in part})

    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        # With the record, so a batch and its jobs are stored together as the port says.
        return await self.home.batch_push(record, envelopes)

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        return await self.home.batch_mark(batch_id, job_id, failed)

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        return await self.home.batch_find(batch_id, with_failed=with_failed)

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        return await self.home.batch_list(limit=limit, offset=offset)

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        return await self.home.batch_cancel(batch_id, cancelled=cancelled)

    async def batch_prune(self, before: float) -> int:
        return await self.home.batch_prune(before)


def _join_cursor(index: int, inner: str | None) -> str:
    return json.dumps([index, inner])


def _split_cursor(cursor: str | None) -> tuple[int, str | None]:
    """(connection index, that connection's cursor) of a failover job cursor."""
    if cursor is None:
        return 0, None
    try:
        index, inner = json.loads(cursor)
        return int(index), None if inner is None else str(inner)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"not a failover job cursor: {cursor[:40]!r}") from exc
