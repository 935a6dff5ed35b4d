"""The port every driver implements, and the records that cross it.

Drivers store and fetch atomically; the invariants (attempt refunds, retry decisions,
envelope decoding) live above them in the worker and the queue facade. Every state change
a worker makes carries the reservation's token, and a driver applies it only while that
token still holds the lease: a stale worker cannot ack, release or fail a rescued job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson

from gello_queue.core.envelope import Envelope, load_json
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.redaction import redact_url
from gello_queue.core.states import JobState


@dataclass(frozen=True, slots=True)
class Reservation:
    """One leased attempt of a job, as handed to a worker."""

    id: str
    queue: str
    token: str
    """Unique per attempt; proves the holder still owns the lease."""
    attempts: int
    """Attempts including this one (counted at reserve)."""
    body: bytes | str
    """The stored envelope, undecoded: a poison message still reaches the worker."""
    lease_expires_at: float


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt ended in the failed store.

    URL passwords in the message and traceback are redacted as the record is built: the
    failed store is read by every listing tool, so a secret must not get into it.
    """

    exception: str
    """The exception's type name, or a short tag such as ``EnvelopeError``."""
    message: str
    traceback: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact_url(self.message))
        object.__setattr__(self, "traceback", redact_url(self.traceback))


@dataclass(frozen=True, slots=True)
class FailedJob:
    """A record in the failed store (the dead letters)."""

    id: str
    queue: str
    name: str
    body: str
    """The envelope as it was stored, or the raw value of a message that was not one."""
    exception: str
    message: str
    traceback: str
    failed_at: float
    attempts: int

    def payload(self) -> Any:
        """The job's payload, or ``None`` when the body is not an envelope (or could not
        be written back: nested too deep)."""
        try:
            data = load_json(self.body)
        except EnvelopeError:
            return None
        return data.get("payload") if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job still in a queue (pending, scheduled or reserved)."""

    id: str
    queue: str
    state: JobState
    attempts: int
    priority: int
    available_at: float
    created_at: float
    body: str
    reserved_by: str | None = None
    lease_expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Sizes of one queue by state."""

    pending: int = 0
    scheduled: int = 0
    reserved: int = 0
    failed: int = 0
    oldest_pending_at: float | None = None
    """When the oldest pending job became available (for "wait")."""

    @property
    def total(self) -> int:
        """Jobs that are still to run or running (failed ones excluded)."""
        return self.pending + self.scheduled + self.reserved


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A worker's heartbeat, as stored in the backend."""

    id: str
    name: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    state: str
    processed: int
    failed: int
    current_jobs: list[str]
    started_at: float
    memory_bytes: int
    last_seen: float = 0.0

    def to_json(self) -> bytes:
        """Serialise for storage."""
        return orjson.dumps({k: getattr(self, k) for k in self.__slots__})

    @classmethod
    def from_json(cls, raw: bytes | str) -> WorkerRecord:
        """Parse a stored heartbeat."""
        data = orjson.loads(raw)
        return cls(**{k: data[k] for k in cls.__slots__ if k in data})


@dataclass(frozen=True, slots=True)
class RescueResult:
    """What a rescue pass did with expired leases."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """Jobs whose lease expired on their last attempt: their worker died running them."""


@dataclass(frozen=True, slots=True)
class ThroughputBucket:
    """Jobs processed and failed in one minute on one queue."""

    minute: int
    """Epoch seconds of the minute's start."""
    queue: str
    processed: int
    failed: int


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A batch of jobs as stored: its counters and the callbacks to run when it ends."""

    id: str
    name: str
    total: int
    """Jobs the batch holds (links of chains inside it included)."""
    processed: int = 0
    failed: int = 0
    created_at: float = 0.0
    finished_at: float | None = None
    """When every job had run once (processed + failed reached total)."""
    cancelled_at: float | None = None
    options: str = "{}"
    """JSON: callbacks (envelopes as dicts), ``allow_failures`` and a chain to continue."""
    failed_ids: tuple[str, ...] = ()
    """Ids of the jobs that failed; filled by ``batch_find`` only (``with_failed``)."""

    @property
    def pending(self) -> int:
        """Jobs that have not run to an end yet."""
        return max(self.total - self.processed - self.failed, 0)

    @property
    def percent(self) -> float:
        """Share of jobs that ran to an end, 0..100."""
        return 100.0 if self.total <= 0 else 100.0 * (self.total - self.pending) / self.total

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@runtime_checkable
class QueueDriver(Protocol):
    """The storage port: queues with leases, the failed store, and worker bookkeeping."""

    name: str
    """The driver's name as used in ``QUEUE_DRIVER`` and URLs."""
    capabilities: frozenset[str]
    """Optional features this driver has; see ``gello_queue.drivers.CAPABILITIES``."""

    async def open(self) -> None:
        """Connect and prepare storage. Raises ``DriverUnavailableError``."""

    async def close(self) -> None:
        """Release connections."""

    async def now(self) -> float:
        """The backend's clock in epoch seconds (leases are judged by it)."""

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Store jobs in one round trip; return, per envelope, the id of the job that
        now represents it (its own id, or the holder of its unique key)."""

    # -- consuming -------------------------------------------------------------------
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

    # -- inspecting and managing -----------------------------------------------------
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

    # -- the failed store ------------------------------------------------------------
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

    # -- workers and control ---------------------------------------------------------
    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        """Store a worker's heartbeat; it is forgotten ``ttl_s`` after the last one."""

    async def worker_gone(self, worker_id: str) -> None:
        """Forget a worker that stopped."""

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

    # -- coordination (shared state for middleware, batches, chains and schedules) ----
    # Keys are free-form strings in a namespace of their own (they never clash with
    # queue keys); expiry is judged by the backend's clock.
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

    # -- batches ---------------------------------------------------------------------
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
