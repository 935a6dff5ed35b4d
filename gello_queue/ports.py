"""The ports every driver implements, as small capabilities, and the records that cross them.

Drivers store and fetch atomically; the invariants (attempt refunds, retry decisions,
envelope decoding) live above them in the worker and the queue facade. Every state change
a worker makes carries the reservation's token, and a driver applies it only while that
token still holds the lease: a stale worker cannot ack, release or fail a rescued job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import NotSupportedError
from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
)
from gello_queue.core.job_query import JobPage
from gello_queue.core.records import (
    BatchRecord,
    CompletedJob,
    EventKind,
    FailedJob,
    Failure,
    JobRecord,
    OpsEvent,
    Progress,
    QueueCounts,
    RescueResult,
    Reservation,
    ThroughputBucket,
    WorkerRecord,
)
from gello_queue.core.states import JobState
from gello_queue.core.timing import TimingCount

__all__ = [
    "OPTIONAL_PORTS",
    "PORTS",
    "BatchRecord",
    "BatchStore",
    "Capability",
    "CompletedJob",
    "Coordination",
    "EventKind",
    "EventLog",
    "FailedJob",
    "FailedPage",
    "FailedQueries",
    "FailedQuery",
    "FailedStep",
    "FailedStore",
    "FailedTally",
    "Failure",
    "FailureGroup",
    "JobBrowser",
    "JobHistory",
    "JobPage",
    "JobQueries",
    "JobQueue",
    "JobRecord",
    "OpsEvent",
    "Progress",
    "ProgressStore",
    "QueueCounts",
    "QueueDriver",
    "RescueResult",
    "Reservation",
    "ReserveWait",
    "RestartWatch",
    "ResultStore",
    "ResultWait",
    "ThroughputBucket",
    "TimingCount",
    "TimingStats",
    "WorkerRecord",
    "WorkerRegistry",
    "event_log",
    "job_history",
    "not_supported",
    "port_methods",
    "progress_store",
    "require",
    "result_store",
    "timing_stats",
    "wait_once_for_result",
]


class Capability(StrEnum):
    """A guarantee a driver gives beyond its ports, declared in its ``capabilities``.

    Operations a driver may lack entirely are optional ports (``ReserveWait``,
    ``RestartWatch``); these name behaviours of operations every driver has.
    """

    LIST_JOBS = "list_jobs"
    """``jobs`` lists pending, scheduled and reserved jobs."""
    PRIORITY = "priority"
    """Per-message priority inside one queue."""
    CLEAR = "clear"
    """``clear`` deletes the pending jobs of a queue."""
    CANCEL = "cancel"
    """``cancel`` deletes any pending job (a broker: only a waiting unique one)."""
    UNIQUE_MODES = "unique_modes"
    """``unique_for``, until-processing and debounce are honoured at push."""
    BATCH_PUSH = "batch_push"
    """A batch record and its jobs are stored in one round trip."""
    RESUME_WAKES = "resume_wakes"
    """``resume`` wakes the workers waiting on the queue, in any process. Without it,
    workers see a resume when they next read ``paused``."""
    PUSH_ONCE = "push_once"
    """A push sent again with the same job ids (its answer was lost) stores each job
    once. Without it (a broker), the job is delivered twice: at least once, never lost."""

    @property
    def description(self) -> str:
        """What the capability lets a driver do, as a verb phrase for error messages."""
        return _CAPABILITY_TEXT[self]


_CAPABILITY_TEXT = {
    Capability.LIST_JOBS: "list pending, scheduled and reserved jobs",
    Capability.PRIORITY: "order jobs by per-message priority inside one queue",
    Capability.CLEAR: "delete the pending jobs of a queue",
    Capability.CANCEL: "delete one pending job",
    Capability.UNIQUE_MODES: "honour unique_for, until-processing and debounce at push",
    Capability.BATCH_PUSH: "store a batch record and its jobs in one round trip",
    Capability.RESUME_WAKES: "wake the workers waiting on a queue when it is resumed",
    Capability.PUSH_ONCE: "store a job pushed again with the same id once",
}


def not_supported(
    driver_name: str, capability: Capability, doing: str | None = None
) -> NotSupportedError:
    """The one error for an operation a driver lacks: it names the driver, what was asked
    and the capability."""
    what = doing or capability.description
    return NotSupportedError(
        f"the {driver_name} driver cannot {what} (it lacks the {capability.value!r} capability)"
    )


def require(driver: QueueDriver, capability: Capability, doing: str | None = None) -> None:
    """Raise ``NotSupportedError`` unless ``driver`` declares ``capability``."""
    if capability not in driver.capabilities:
        raise not_supported(driver.name, capability, doing)


# Each port below is one capability a connection has. Every driver implements the six
# mandatory ones (brokers through their database store); the optional ones are found once,
# with ``isinstance``, when a connection is built, never looked up at the call site.


@runtime_checkable
class JobQueue(Protocol):
    """Jobs with leases: what a producer and a worker need."""

    name: str
    """The driver's name as used in ``QUEUE_DRIVER`` and URLs."""

    @property
    def capabilities(self) -> frozenset[str]:
        """The guarantees this driver gives beyond its ports (``Capability`` values)."""

    async def open(self) -> None:
        """Connect and prepare storage. Raises ``DriverUnavailableError``."""

    async def close(self) -> None:
        """Release connections."""

    async def now(self) -> float:
        """The backend's clock in epoch seconds (leases are judged by it)."""

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Store jobs in one round trip; return, per envelope, the id of the job that
        now represents it (its own id, or the holder of its unique key)."""

    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        """Lease up to ``limit`` available jobs: queues in the given order (a later queue
        only when the earlier ones are empty), then priority (higher first), then FIFO.
        Increments each job's attempts."""

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        """Return when a job may be available on ``queues``, or after ``timeout_s``."""

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        """Complete jobs whose lease is still held; return the ids of the others (usually
        none): their lease was lost, so another attempt owns the job now."""

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        """Put the job back, storing ``envelope`` (its attempts and reason), available
        after ``delay_s``. False when the lease was lost."""

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        """Move the job to the failed store with ``body``. False when the lease was lost."""

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        """Renew leases; return the ids whose lease was lost (rescued or gone)."""

    async def rescue(self) -> RescueResult:
        """Requeue jobs whose lease expired; fail those that were on their last attempt."""


@runtime_checkable
class JobBrowser(Protocol):
    """Looking into queues and managing single jobs."""

    async def counts(self) -> dict[str, QueueCounts]:
        """Sizes per queue by state, for every queue that holds jobs or failed jobs."""

    async def queues(self) -> list[str]:
        """Names of queues that hold jobs or failed jobs."""

    async def clear(self, queue: str) -> int:
        """Delete the queue's pending and scheduled jobs; return how many."""

    async def find(self, job_id: str) -> JobRecord | None:
        """A job still in a queue, by id."""

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        """Jobs in one state (pending, scheduled or reserved), oldest first."""

    async def cancel(self, job_id: str) -> bool:
        """Delete a pending or scheduled job."""

    async def promote(self, job_id: str) -> bool:
        """Make a scheduled job available now."""


@runtime_checkable
class FailedStore(Protocol):
    """The failed jobs: listed, retried, forgotten, pruned."""

    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        """Failed jobs, newest first."""

    async def failed_count(self, queue: str | None = None) -> int:
        """How many failed jobs there are."""

    async def failed_find(self, job_id: str) -> FailedJob | None:
        """One failed job by id."""

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        """Move failed jobs back to their queue as new attempts; return how many."""

    async def failed_retry_all(self, queue: str | None = None) -> int:
        """Retry every failed job (of one queue); return how many."""

    async def failed_forget(self, job_id: str) -> bool:
        """Delete one failed job."""

    async def failed_flush(self, queue: str | None = None) -> int:
        """Delete every failed job (of one queue); return how many."""

    async def failed_prune(self, before: float) -> int:
        """Delete failed jobs that failed before ``before``; return how many."""

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        """Store failed jobs exported from another backend as they were (id, queue,
        body, failure, attempts, ``failed_at``), so they can be listed and retried here. A
        record whose id is already in the failed store is left alone; return how many
        were newly stored."""


@runtime_checkable
class FailedQueries(Protocol):
    """The failed store searched, counted, grouped and acted on by a ``FailedQuery``,
    in the backend: none of them reads the store from its start to reach a page, and a
    free-text search (the one part without an index) stops at a time budget and says so.
    """

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        """Up to ``limit`` failed jobs ``query`` selects, newest first, after ``cursor``
        (from the previous page; None: from the newest)."""

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        """How many failed jobs ``query`` selects."""

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        """The failed jobs ``query`` selects grouped by fingerprint over the whole store,
        biggest group first."""

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        """Retry up to ``limit`` of the failed jobs ``query`` selects, newest first after
        ``cursor``, in one step; the step's cursor continues (None: none left). A job that
        fails again meanwhile lands before the cursor, so a loop of steps ends."""

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        """Delete up to ``limit`` of the failed jobs ``query`` selects, as
        ``failed_retry_step`` retries them."""


@runtime_checkable
class JobQueries(Protocol):
    """Pending, scheduled and running jobs searched, counted and acted on by a
    ``FailedQuery`` (see ``gello_queue.core.job_query`` for what it selects of a queued
    job), in the backend, paged by cursor: no call reads a queue from its start to reach a
    page. Where a part has no index (``name:`` and free text on Redis), reading stops at a
    time budget and says so (``complete``)."""

    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """Up to ``limit`` jobs in ``state`` that ``query`` selects, after ``cursor`` (from
        the previous page; None: from the first), oldest first where the backend orders
        by time (SQL, memory), else in each queue's own order (Redis: queue by queue, in
        the order workers take them)."""

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        """How many jobs in ``state`` ``query`` selects."""

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        """Delete up to ``limit`` of the pending or scheduled jobs ``query`` selects, after
        ``cursor``, in one step (a running job is never touched); the step's cursor
        continues (None: none left)."""

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        """Make up to ``limit`` of the scheduled jobs ``query`` selects available now, as
        ``jobs_cancel_step`` deletes them; workers are woken as by ``promote``."""


@runtime_checkable
class WorkerRegistry(Protocol):
    """Workers' heartbeats, commands to one worker, pause flags, the restart signal and
    throughput."""

    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        """Store a worker's heartbeat; it is forgotten ``ttl_s`` after the last one."""

    async def worker_gone(self, worker_id: str) -> None:
        """Forget a worker that stopped (and a command left for it)."""

    async def worker_command(self, worker_id: str, command: str) -> None:
        """Leave ``command`` (a ``WorkerCommand``) for worker ``worker_id`` to take at its
        next tick, replacing one it has not taken; kept ``COMMAND_KEPT_S`` at most."""

    async def worker_command_take(self, worker_id: str) -> str | None:
        """The command left for ``worker_id``, taken (each is given once), or None."""

    async def workers(self) -> list[WorkerRecord]:
        """Heartbeats of workers seen within their ttl, with ``last_seen`` set."""

    async def pause(self, queue: str) -> None:
        """Stop workers from taking jobs from ``queue``."""

    async def resume(self, queue: str) -> None:
        """Let workers take jobs from ``queue`` again."""

    async def paused(self) -> set[str]:
        """Names of paused queues."""

    async def signal_restart(self) -> float:
        """Ask every worker to exit after its current jobs; return the signal's time."""

    async def restart_signal(self) -> float | None:
        """When a restart was last asked for, if ever."""

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        """Add processed and failed counts per queue to the bucket of ``minute``."""

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        """Per-minute buckets from ``since`` on."""


@runtime_checkable
class Coordination(Protocol):
    """Shared state for middleware, batches, chains and schedules.

    Keys are free-form strings in a namespace of their own (they never clash with queue
    keys); expiry is judged by the backend's clock.
    """

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        """Add ``by`` to a counter and return its new value. A missing or expired counter
        starts at zero and lives ``ttl_s`` from then on (a fixed window: adding does not
        extend it)."""

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take the lock for ``ttl_s`` if it is free, expired, or already ``owner``'s (then
        its expiry is renewed); False when someone else holds it."""

    async def lock_release(self, key: str, owner: str) -> bool:
        """Free the lock if ``owner`` holds it; False otherwise."""

    async def lock_owner(self, key: str) -> str | None:
        """Who holds the lock ``key`` now, or None when it is free or expired."""


@runtime_checkable
class BatchStore(Protocol):
    """Batch records and their progress."""

    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        """Store the batch (or, when it exists, add ``record.total`` to its total) and push
        ``envelopes``, atomically where the backend allows, in one round trip. Unique keys
        of batch members are not honoured."""

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        """Record that a job of the batch ran to an end, once per job (a failed job that
        later succeeds moves from failed to processed); stamp ``finished_at`` when every
        job has. Return the batch after the change, or None when it does not exist."""

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        """One batch, with ``failed_ids`` unless ``with_failed`` is False (a check that
        must not cost more for a big batch, such as whether it was cancelled)."""

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        """Batches, newest first (``failed_ids`` left empty)."""

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        """Mark the batch cancelled (its jobs are skipped when they come up), or with
        ``cancelled=False`` no longer cancelled; False when it does not exist."""

    async def batch_prune(self, before: float) -> int:
        """Delete batches finished or cancelled before ``before``; return how many."""


@runtime_checkable
class QueueDriver(
    JobQueue,
    JobBrowser,
    FailedStore,
    FailedQueries,
    WorkerRegistry,
    Coordination,
    BatchStore,
    Protocol,
):
    """A connection: every mandatory port together. It declares nothing of its own."""


# -- optional ports -------------------------------------------------------------------


@runtime_checkable
class ReserveWait(Protocol):
    """A driver that can wait for jobs and lease them in one call (a blocking pop)."""

    async def reserve_wait(
        self,
        queues: Sequence[str],
        limit: int,
        *,
        lease_s: float,
        worker_id: str,
        timeout_s: float,
    ) -> list[Reservation]:
        """Lease up to ``limit`` jobs, waiting up to ``timeout_s`` for the first one."""


@runtime_checkable
class RestartWatch(Protocol):
    """A driver whose server can lose jobs by restarting, and that notices it (Redis)."""

    async def server_restarts(self) -> dict[str, Any] | None:
        """Restarts workers noticed (``count``, ``last_at``, ``persistent``), or None."""


@runtime_checkable
class ResultStore(Protocol):
    """Results of jobs that keep them (``keep_result``), as JSON text.

    A worker stores a result before it acks the job, so a result exists once the job
    counts as completed. A store that can wake a waiter also has ``ResultWait``; on
    the others ``Queue.result`` polls ``result_get`` with a short backoff.
    """

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        """Keep ``data`` as the result of ``job_id`` for ``ttl_s`` seconds (by the
        backend's clock), replacing an older one."""

    async def result_get(self, job_id: str) -> str | None:
        """The result of ``job_id``, or None when there is none (never kept, or expired)."""


@runtime_checkable
class ResultWait(Protocol):
    """Waiting for a result on the backend's own wake-up (Redis ``BLPOP``, PostgreSQL
    ``LISTEN``) instead of polling."""

    async def result_wait(self, job_id: str, timeout_s: float) -> str | None:
        """The result of ``job_id`` once it is stored, or None after ``timeout_s``
        (a result stored while the call starts is not missed)."""


async def wait_once_for_result(driver: object, job_id: str, timeout_s: float) -> str | None:
    """One wait of at most ``timeout_s`` for ``job_id``'s result: on the driver's
    wake-up when it has one, else one look after a quarter of a second at most.

    The wrapping drivers (brokers with their store, failover, dispatch hooks) pass their
    waits through this, so a wake-up works through them and polling stays the fallback.
    """
    if isinstance(driver, ResultWait):
        return await driver.result_wait(job_id, timeout_s)
    await asyncio.sleep(min(timeout_s, 0.25))
    return await result_store(driver).result_get(job_id)


@runtime_checkable
class TimingStats(Protocol):
    """Per-minute wait and run histograms and outcome counts per queue and job class
    (``core.timing``), written by workers with their throughput and kept as long.

    A count adds to the stored one of the same key (minute, queue, job, series, bucket),
    so workers write concurrently without reading.
    """

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        """Add ``counts`` to the stored ones, and forget minutes older than the
        throughput's retention."""

    async def timings(self, since: float) -> list[TimingCount]:
        """The stored counts of minutes from ``since`` on, equal keys summed, in key
        order."""


@runtime_checkable
class JobHistory(Protocol):
    """The last completed jobs of each queue, kept for a while (``QUEUE_KEEP_COMPLETED``).

    Recording rides on the ack: a worker that keeps history acks through
    ``ack_recording``, so a completion costs no round trip of its own.
    """

    async def ack_recording(
        self,
        reservations: Sequence[Reservation],
        completed: Sequence[CompletedJob],
        keep: int,
    ) -> list[str]:
        """``ack`` the reservations and, in the same round trip (atomically where the
        backend allows), keep each of ``completed`` whose ack was accepted; one whose id
        is not among ``reservations`` is kept as given (a broker's job, acked on the
        broker). Each queue is trimmed to its newest ``keep`` records, at once or now
        and then, sparing the ``monitored`` records. Return the ids whose lease was lost,
        as ``ack`` does."""

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        """Completed jobs, newest first: of one queue, of one job name, finished at or
        after ``since``, carrying ``tag`` (found by ``core.tags.tag_needle`` in the
        record's ``tags``, as every tag filter finds it)."""

    async def history_counts(self) -> dict[str, int]:
        """How many completed jobs are kept, per queue (queues with none left out)."""

    async def history_trim(self, keep: int) -> int:
        """Delete all but the newest ``keep`` completed jobs of each queue (ties at the
        boundary may stay), sparing the ``monitored`` ones; return how many went."""

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        """Delete completed jobs that finished before ``before``, the ``monitored`` ones
        before ``monitored_before`` instead (when given); return how many."""

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        """Monitor ``tag`` (or, with False, no longer): workers mark the completed jobs
        carrying a monitored tag, which the history keeps longer. Return whether that
        changed anything."""

    async def tags_monitored(self) -> list[str]:
        """The monitored tags, sorted."""


PORTS: tuple[type, ...] = (
    JobQueue,
    JobBrowser,
    FailedStore,
    FailedQueries,
    WorkerRegistry,
    Coordination,
    BatchStore,
)
"""The mandatory ports, in the order of ``QueueDriver``."""


@runtime_checkable
class ProgressStore(Protocol):
    """Running jobs' progress, kept by job id until it expires.

    Written by the worker (throttled: see ``gello_queue.core.progress``) and read by any
    process: ``Queue.status``, ``queue:why``, the dashboard. A job's record outlives the
    job for its ttl, so a finished job still shows the last value it reported.
    """

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        """Keep ``progress`` for job ``job_id`` for ``ttl_s`` seconds, replacing what was
        kept before."""

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        """The progress kept for each of ``job_ids`` that has some (none expired)."""


@runtime_checkable
class EventLog(Protocol):
    """Recent operational events (``OpsEvent``: a rescue of a dead worker's jobs), kept in
    the backend so any process, on any host, can show them: the newest
    ``EVENTS_KEPT`` (``drivers.common``), none older than ``EVENTS_KEPT_S``."""

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        """Keep ``events``, and forget those past the bounds."""

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        """Up to ``limit`` kept events that happened at or after ``since``, newest
        first."""


OPTIONAL_PORTS: tuple[type, ...] = (
    JobQueries,
    ReserveWait,
    RestartWatch,
    ResultStore,
    ResultWait,
    ProgressStore,
    TimingStats,
    JobHistory,
    EventLog,
)


def result_store(driver: object) -> ResultStore:
    """``driver`` as a ``ResultStore``, or the error saying it cannot keep results."""
    if isinstance(driver, ResultStore):
        return driver
    name = getattr(driver, "name", type(driver).__name__)
    raise NotSupportedError(f"the {name} driver cannot keep job results (no ResultStore port)")


def progress_store(driver: object) -> ProgressStore:
    """``driver`` as a ``ProgressStore``, or the error saying it cannot keep progress."""
    if isinstance(driver, ProgressStore):
        return driver
    name = getattr(driver, "name", type(driver).__name__)
    raise NotSupportedError(f"the {name} driver cannot keep job progress (no ProgressStore port)")


def timing_stats(driver: object) -> TimingStats:
    """``driver`` as a ``TimingStats``, or the error saying it keeps no timings."""
    if isinstance(driver, TimingStats):
        return driver
    name = getattr(driver, "name", type(driver).__name__)
    raise NotSupportedError(
        f"the {name} driver cannot keep wait and run times (no TimingStats port)"
    )


def job_history(driver: object) -> JobHistory:
    """``driver`` as a ``JobHistory``, or the error saying it keeps no completed jobs."""
    if isinstance(driver, JobHistory):
        return driver
    name = getattr(driver, "name", type(driver).__name__)
    raise NotSupportedError(
        f"the {name} driver cannot keep completed jobs (no JobHistory port):"
        " set QUEUE_KEEP_COMPLETED=0"
    )


def event_log(driver: object) -> EventLog:
    """``driver`` as an ``EventLog``, or the error saying it keeps no events."""
    if isinstance(driver, EventLog):
        return driver
    name = getattr(driver, "name", type(driver).__name__)
    raise NotSupportedError(f"the {name} driver cannot keep operational events (no EventLog port)")


def port_methods(*ports: type) -> tuple[str, ...]:
    """The operations the given ports declare, in declaration order."""
    names: list[str] = []
    for port in ports:
        names += [n for n, v in vars(port).items() if not n.startswith("_") and callable(v)]
    return tuple(names)
