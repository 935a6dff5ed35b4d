"""The records that cross the driver ports: reservations, failures, failed jobs, completed
jobs, job and worker records, counts and batch records. Plain frozen data, shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from gello_queue.core.encryption import Keyring, shown_payload
from gello_queue.core.envelope import load_json
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.redaction import redact_url
from gello_queue.core.states import JobState
from gello_queue.core.tags import tag_needle


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

    def payload(self, keyring: Keyring | None = None) -> Any:
        """The job's payload, or ``None`` when the body is not an envelope (or could not
        be written back: nested too deep). An encrypted payload reads as ``"encrypted"``
        unless ``keyring`` (the operator's ``QUEUE_ENCRYPTION_KEY``) decrypts it."""
        try:
            data = load_json(self.body)
        except EnvelopeError:
            return None
        return shown_payload(data, keyring, reveal=keyring is not None)


class CompletedJob(NamedTuple):
    """A job that ran to success, as the completed-job history keeps it.

    A named tuple rather than a frozen dataclass: one is built for every job a worker
    completes, and a tuple in column order is what the SQL drivers insert as it is.
    """

    id: str
    queue: str
    name: str
    attempts: int
    """Attempts it took, the successful one included."""
    worker: str
    """The name of the worker that ran it."""
    wait_s: float
    """Seconds from when it became available to when its last attempt started."""
    runtime_s: float
    """Seconds its last attempt ran."""
    finished_at: float
    """Epoch seconds, by the clock of the worker that ran it."""
    payload: str | None = None
    """The payload as JSON, only when ``QUEUE_KEEP_COMPLETED_PAYLOADS`` is on."""
    tags: str | None = None
    """The job's tags as a JSON array (as its envelope writes them), None when it has
    none: text, so the ack stores it as it is and ``tag_needle`` finds a tag in it as in
    a stored envelope."""

    monitored: bool = False
    """It carried a tag that was monitored when it completed (``Inspector.monitor_tag``):
    the count trims spare it, and it stays ``QUEUE_KEEP_MONITORED_HOURS``."""

    @property
    def tag_list(self) -> list[str]:
        """The job's tags."""
        return [] if self.tags is None else [str(t) for t in orjson.loads(self.tags)]

    def has_tag(self, tag: str) -> bool:
        """Whether the job carries ``tag`` (the rule every driver's tag filter follows)."""
        return self.tags is not None and tag_needle(tag) in self.tags

    def to_json(self) -> bytes:
        """Serialise for a store that keeps records as text (Redis): a JSON array."""
        return orjson.dumps(tuple(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> CompletedJob:
        """Parse a record written by ``to_json`` (one written before a field was added
        reads it as its default)."""
        return cls(*orjson.loads(raw))


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
    running_since: dict[str, float] = field(default_factory=dict)
    """When the worker took each of ``current_jobs`` (the backend's clock, as leases)."""

    @property
    def label(self) -> str:
        """How a worker is named everywhere: ``host:pid/name``."""
        return f"{self.host}:{self.pid}/{self.name}"

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
    held_by: dict[str, str] = field(default_factory=dict)
    """Job id -> id of the worker whose lease expired, for each rescued job whose lease
    named its worker."""

    def by_worker(self) -> dict[str | None, tuple[list[str], list[str]]]:
        """The requeued and the failed jobs of each worker that held them (None: jobs
        whose holder is not known), workers in the order their first job was rescued."""
        out: dict[str | None, tuple[list[str], list[str]]] = {}
        for ids, slot in ((self.requeued, 0), (self.failed, 1)):
            for job_id in ids:
                out.setdefault(self.held_by.get(job_id), ([], []))[slot].append(job_id)
        return out

    def extend(self, other: RescueResult) -> None:
        """Add what another pass (another queue, connection or batch) rescued."""
        self.requeued.extend(other.requeued)
        self.failed.extend(other.failed)
        self.held_by.update(other.held_by)


class EventKind:
    """Kinds of operational events (``OpsEvent.kind``)."""

    RESCUE = "rescue"
    """A worker's rescue pass took back the jobs of a worker that stopped answering."""
    BALANCED = "balanced"
    """A ``--balance auto`` supervisor moved processes between queues (``detail``)."""


@dataclass(frozen=True, slots=True)
class OpsEvent:
    """Something that happened to the queue system that operators want to see after the
    fact, from any process: kept in the backend, the newest ``EVENTS_KEPT`` for
    ``EVENTS_KEPT_S`` at most (see ``EventLog``)."""

    kind: str
    """An ``EventKind`` value."""
    at: float
    """Epoch seconds, by the backend's clock."""
    worker: str
    """The worker it is about, as operators name it (``host:pid/name``; for a rescue, the
    worker that held the jobs), or its id when its name was not kept (a worker that
    stored none: see ``worker.maintenance.keep_worker_name``), or ""."""
    jobs: tuple[str, ...] = ()
    """Ids of the jobs it concerns."""
    failed: tuple[str, ...] = ()
    """Those of ``jobs`` that went to the failed store (a rescue on their last attempt)."""
    by: str = ""
    """The worker that recorded it, named as ``worker`` is."""
    detail: str = ""
    """What it did, in words (a balancing decision: each queue's processes, before and
    after)."""

    def to_json(self) -> str:
        """Serialise for storage."""
        return orjson.dumps({k: getattr(self, k) for k in self.__slots__}).decode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> OpsEvent:
        """Parse a stored event."""
        data = orjson.loads(raw)
        return cls(
            kind=str(data["kind"]),
            at=float(data["at"]),
            worker=str(data["worker"]),
            jobs=tuple(data.get("jobs") or ()),
            failed=tuple(data.get("failed") or ()),
            by=str(data.get("by") or ""),
            detail=str(data.get("detail") or ""),
        )


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


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a running job is, as its ``handle`` last reported it."""

    fraction: float
    """0.0 to 1.0."""
    message: str | None
    """What it is doing, in a few words (capped in length), or None."""
    updated_at: float
    """When it was reported (epoch seconds, by the worker's clock)."""

    @property
    def percent(self) -> float:
        """``fraction`` as 0..100."""
        return self.fraction * 100.0

    def to_json(self) -> str:
        """Serialise for storage."""
        return orjson.dumps(
            {"fraction": self.fraction, "message": self.message, "updated_at": self.updated_at}
        ).decode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Progress:
        """Parse a stored progress record."""
        data = orjson.loads(raw)
        return cls(float(data["fraction"]), data.get("message"), float(data["updated_at"]))
