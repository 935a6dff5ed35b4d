"""Brokers composed with a database: the failed store and the bookkeeping live in SQL.

A broker (RabbitMQ, SQS) moves messages; it cannot list a failed job, remember a
worker's heartbeat or count throughput. As in Laravel, those live in a database
connection (``QUEUE_BROKER_STORE``: the SQLite file by default, PostgreSQL in
production). ``StoreBacked`` composes a broker's ``JobQueue`` with that store's
``FailedStore``, ``WorkerRegistry``, ``Coordination``, ``BatchStore``, ``ResultStore``,
``ProgressStore``, ``TimingStats``, ``JobHistory`` and ``EventLog``: each of their
operations is delegated by name, below.

The store driver's own job tables hold only unique-key claims and markers of
superseded messages, in private queues (see ``broker_claims``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError, NotSupportedError
from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
)
from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.core.states import JobState
from gello_queue.drivers.broker_claims import ClaimStore, is_private, marker_queue
from gello_queue.drivers.common import name_of
from gello_queue.ports import (
    BatchRecord,
    Capability,
    CompletedJob,
    FailedJob,
    Failure,
    JobQueue,
    JobRecord,
    OpsEvent,
    Progress,
    QueueCounts,
    QueueDriver,
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

STORE_PARAMS = ("store", "failed_store")
"""URL query parameters naming the store (``amqp://…?store=sqlite:///x.db``);
``failed_store`` is its name from before the store held more than failed jobs."""


def split_store_url(url: str) -> tuple[str, str | None]:
    """The broker URL without ``store=…``, and that store URL if present."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    given = dict((k, v) for k, v in params if k in STORE_PARAMS)
    store = next((given[k] for k in STORE_PARAMS if k in given), None)
    rest = urlencode([(k, v) for k, v in params if k not in STORE_PARAMS])
    return urlunsplit(parts._replace(query=rest)), store


def default_queue() -> str:
    """The ``QUEUE_DEFAULT`` setting: a broker cannot list its queues, so inspection
    always looks at this one."""
    from gello_queue.settings import load_settings

    return load_settings().queue_default


def store_factory(url: str) -> Callable[[], QueueDriver]:
    """A factory of the database store for broker URL ``url``.

    The store comes from the URL's ``store`` parameter, else from the
    ``QUEUE_BROKER_STORE`` setting. Only database drivers can be stores.
    """
    from gello_queue.drivers import factory_from_url
    from gello_queue.settings import load_settings

    _, store = split_store_url(url)
    store = store or load_settings().queue_broker_store
    scheme = urlsplit(store).scheme.lower()
    if scheme not in ("sqlite", "postgresql", "postgres", "memory"):
        raise ConfigurationError(
            f"QUEUE_BROKER_STORE must be a database URL (sqlite:/// or postgresql://),"
            f" got scheme {scheme or store!r}"
        )
    return factory_from_url(store)


async def store_failed(
    store: QueueDriver, *, job_id: str, queue: str, body: str, failure: Failure, attempts: int
) -> None:
    """Record a broker job's failure in ``store``, replacing an older record of the same
    job (a retried job that failed again).

    The replacement is a forget then an import, not one atomic write: the broker message
    is acknowledged only after this returns, so a crash in between redelivers the job
    and its failure is recorded again.
    """
    record = FailedJob(
        id=job_id,
        queue=queue,
        name=name_of(body),
        body=body,
        exception=failure.exception,
        message=failure.message,
        traceback=failure.traceback,
        failed_at=time.time(),
        attempts=attempts,
    )
    if not await store.failed_import([record]):
        await store.failed_forget(job_id)
        await store.failed_import([record])


class StoreBacked(ClaimStore):
    """Delegates the failed store, workers, control flags and counters to ``store``.

    Subclasses implement the queue half of the port on their broker, ``republish``
    (put a failed job's envelope back on the broker) and ``holds`` (whether this
    process runs a job).
    """

    name = "broker"
    store: QueueDriver

    def unsupported(self, capability: Capability, doing: str | None = None) -> NotSupportedError:
        """The one-line error for an operation this broker cannot do."""
        return not_supported(self.name, capability, doing)

    # -- what a broker cannot do -------------------------------------------------------
    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        raise self.unsupported(Capability.LIST_JOBS)

    async def cancel(self, job_id: str) -> bool:
        # Only a waiting unique job can be: its claim is the handle on it.
        if self.holds(job_id):
            return False
        cancelled = await self.cancel_claimed(job_id)
        if cancelled is None:
            raise self.unsupported(
                Capability.CANCEL, "cancel a job other than a waiting unique one"
            )
        return cancelled

    def holds(self, job_id: str) -> bool:
        """Whether this process runs ``job_id`` now (subclasses)."""
        return False

    async def promote(self, job_id: str) -> bool:
        # Reaching one scheduled message inside a queue is what listing needs too.
        raise self.unsupported(Capability.LIST_JOBS, "run one scheduled job now")

    async def batch_push(self, record: Any, envelopes: Sequence[Envelope]) -> list[str]:
        """The batch record goes to the store, its jobs to the broker (two steps: the
        driver lacks the ``batch_push`` capability, so callers pass no jobs here)."""
        await self.store.batch_push(record, [])
        if not envelopes:
            return []
        # Unique keys of batch members are not honoured (as the port says).
        return await self.push([e.with_changes(unique_key=None) for e in envelopes])

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Claim the unique keys of ``envelopes`` in the store, then publish the jobs to
        be sent (``_publish_new``); a failed publish frees the claims it made. Returns each
        job's id, or that of the job already holding its key."""
        claimed = await self.claim_unique(envelopes)
        sending = [env for env in envelopes if claimed.sends(env)]
        publishing = self._publish_new(sending)
        try:
            await publishing
        except BaseException:
            await self.release_unique([env.id for env in sending if env.unique_key is not None])
            raise
        return [claimed.holders.get(e.id, e.id) for e in envelopes]

    def _publish_new(self, envelopes: Sequence[Envelope]) -> Awaitable[None]:
        """The broker messages of new jobs, built at once; awaited, they are published,
        every one confirmed (subclasses)."""
        raise NotImplementedError

    # -- counts with the store's failed jobs -----------------------------------------
    async def counts(self) -> dict[str, QueueCounts]:
        """Counts per queue, the broker's with the store's (subclasses; see
        ``with_store``)."""
        raise NotImplementedError

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def store_counts(self) -> dict[str, QueueCounts]:
        """The store's counts: failed jobs per gello queue, claims and markers."""
        return await self.store.counts()

    def with_store(
        self, broker: dict[str, QueueCounts], stored: dict[str, QueueCounts]
    ) -> dict[str, QueueCounts]:
        """The broker's counts per queue with the store's failed jobs, less superseded
        messages not yet due (scheduled, else pending: an SQS FIFO queue shows early
        messages as visible). Queues with nothing to show are left out."""
        out: dict[str, QueueCounts] = {}
        for queue, c in broker.items():
            found = stored.get(queue)
            failed = found.failed if found is not None else 0
            markers = stored.get(marker_queue(queue))
            left = markers.scheduled if markers is not None else 0
            scheduled = max(c.scheduled - left, 0)
            pending = max(c.pending - (left - (c.scheduled - scheduled)), 0)
            counted = QueueCounts(pending, scheduled, c.reserved, failed)
            if counted.total or failed:
                out[queue] = counted
        return out

    # -- the failed store ------------------------------------------------------------
    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        return await self.store.failed_list(queue=queue, limit=limit, offset=offset)

    async def failed_count(self, queue: str | None = None) -> int:
        return await self.store.failed_count(queue)

    async def failed_find(self, job_id: str) -> FailedJob | None:
        return await self.store.failed_find(job_id)

    async def republish(self, envelopes: Sequence[tuple[Envelope | None, FailedJob]]) -> None:
        """Put retried failed jobs back on the broker, confirmed."""
        raise NotImplementedError

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        now = time.time()
        found = [f for f in [await self.store.failed_find(i) for i in job_ids] if f is not None]
        if not found:
            return 0
        # Published (and confirmed) before forgotten: a crash in between retries twice,
        # never zero times.
        await self.republish(
            [(rebuild_retried(f.id, f.queue, f.name, f.body, now).envelope, f) for f in found]
        )
        for failed in found:
            await self.store.failed_forget(failed.id)
        return len(found)

    async def failed_retry_all(self, queue: str | None = None) -> int:
        # Bounded by the count at the start, so jobs failing again meanwhile wait.
        left = await self.store.failed_count(queue)
        done = 0
        while left > 0:
            page = await self.store.failed_list(queue=queue, limit=min(left, 500))
            if not page:
                break
            done += await self.failed_retry([f.id for f in page])
            left -= len(page)
        return done

    async def failed_forget(self, job_id: str) -> bool:
        return await self.store.failed_forget(job_id)

    async def failed_flush(self, queue: str | None = None) -> int:
        return await self.store.failed_flush(queue)

    async def failed_prune(self, before: float) -> int:
        return await self.store.failed_prune(before)

    # -- workers and control ---------------------------------------------------------
    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        await self.store.worker_beat(record, ttl_s)

    async def worker_gone(self, worker_id: str) -> None:
        await self.store.worker_gone(worker_id)

    async def worker_command(self, worker_id: str, command: str) -> None:
        await self.store.worker_command(worker_id, command)

    async def worker_command_take(self, worker_id: str) -> str | None:
        return await self.store.worker_command_take(worker_id)

    async def workers(self) -> list[WorkerRecord]:
        return await self.store.workers()

    async def pause(self, queue: str) -> None:
        await self.store.pause(queue)

    async def resume(self, queue: str) -> None:
        await self.store.resume(queue)

    async def paused(self) -> set[str]:
        return await self.store.paused()

    async def signal_restart(self) -> float:
        return await self.store.signal_restart()

    async def restart_signal(self) -> float | None:
        return await self.store.restart_signal()

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        await self.store.record_throughput(counts, minute)

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        return await self.store.throughput(since)

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        await timing_stats(self.store).record_timings(counts)

    async def timings(self, since: float) -> list[TimingCount]:
        return await timing_stats(self.store).timings(since)

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        await event_log(self.store).events_add(events)

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        return await event_log(self.store).events_recent(limit=limit, since=since)

    async def known_queues(self, stored: dict[str, QueueCounts]) -> set[str]:
        """Queues the store knows of: with failed jobs, paused, or served by a worker."""
        names = {q for q, c in stored.items() if c.failed and not is_private(q)}
        names |= await self.store.paused()
        for worker in await self.store.workers():
            names.update(worker.queues)
        return names

    # -- coordination and batch records: the store's ----------------------------------
    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        return await self.store.failed_import(records)

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        return await self.store.failed_search(query, limit=limit, cursor=cursor)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        return await self.store.failed_tally(query)

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        return await self.store.failed_groups(query)

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        # The store finds the jobs; the broker takes them back (see failed_retry).
        page = await self.store.failed_search(query, limit=limit, cursor=cursor)
        done = await self.failed_retry([f.id for f in page.jobs])
        return FailedStep(done, page.cursor)

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self.store.failed_purge_step(query, limit=limit, cursor=cursor)

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        return await self.store.counter_incr(key, by, ttl_s)

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        return await self.store.lock_acquire(key, owner, ttl_s)

    async def lock_release(self, key: str, owner: str) -> bool:
        return await self.store.lock_release(key, owner)

    async def lock_owner(self, key: str) -> str | None:
        return await self.store.lock_owner(key)

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        await result_store(self.store).result_put(job_id, data, ttl_s)

    async def result_get(self, job_id: str) -> str | None:
        return await result_store(self.store).result_get(job_id)

    async def result_wait(self, job_id: str, timeout_s: float) -> str | None:
        return await wait_once_for_result(self.store, job_id, timeout_s)

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        await progress_store(self.store).progress_put(job_id, progress, ttl_s)

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        return await progress_store(self.store).progress_get(job_ids)

    # -- completed jobs: acked on the broker, kept in the store ------------------------
    async def ack_recording(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        """The broker's ack, then the accepted jobs kept in the store: two calls, as the
        broker and the store are two servers. A crash between them loses the records,
        never a job."""
        lost = await cast(JobQueue, self).ack(reservations)
        refused = set(lost)
        accepted = [c for c in completed if c.id not in refused]
        if accepted:
            await job_history(self.store).ack_recording([], accepted, keep)
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
        store = job_history(self.store)
        return await store.recent(queue=queue, name=name, limit=limit, since=since, tag=tag)

    async def history_counts(self) -> dict[str, int]:
        return await job_history(self.store).history_counts()

    async def history_trim(self, keep: int) -> int:
        return await job_history(self.store).history_trim(keep)

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        store = job_history(self.store)
        return await store.history_prune(before, monitored_before=monitored_before)

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        return await job_history(self.store).tag_monitor(tag, monitored)

    async def tags_monitored(self) -> list[str]:
        return await job_history(self.store).tags_monitored()

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        return await self.store.batch_mark(batch_id, job_id, failed)

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        return await self.store.batch_find(batch_id, with_failed=with_failed)

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        return await self.store.batch_list(limit=limit, offset=offset)

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        return await self.store.batch_cancel(batch_id, cancelled=cancelled)

    async def batch_prune(self, before: float) -> int:
        return await self.store.batch_prune(before)
