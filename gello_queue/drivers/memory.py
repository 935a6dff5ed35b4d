"""In-process driver for tests and examples: the reference behaviour of the port.

State lives in a ``MemoryStore`` that several driver instances (one per event loop) can
share, so blocking producers and an async worker in the same process see the same jobs.
Its clock is injectable, which lets tests move time forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from gello_queue.core.envelope import Envelope
from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.core.rescue import LOST_WORKER_EXCEPTION, LOST_WORKER_REASON, rescue_fails
from gello_queue.core.states import JobState
from gello_queue.core.unique import UniqueOutcome, unique_outcome
from gello_queue.drivers.common import name_of, seen
from gello_queue.ports import (
    BatchRecord,
    Capability,
    FailedJob,
    Failure,
    JobRecord,
    QueueCounts,
    RescueResult,
    Reservation,
    ThroughputBucket,
    WorkerRecord,
)


@dataclass(slots=True)
class _Job:
    id: str
    queue: str
    priority: int
    available_at: float
    created_at: float
    attempts: int
    max_attempts: int
    body: str
    unique_key: str | None = None
    unique_until: float | None = None
    token: str | None = None
    lease_expires_at: float | None = None
    reserved_by: str | None = None
    filed: int = 0
    """The number of its latest filing to wait: only that index entry counts."""


class MemoryStore:
    """The shared state behind memory drivers; thread-safe through one lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.jobs: dict[str, _Job] = {}
        self.failed: dict[str, FailedJob] = {}
        self.unique: dict[str, str] = {}
        self.workers: dict[str, tuple[WorkerRecord, float]] = {}
        self.paused: set[str] = set()
        self.restart_at: float | None = None
        self.throughput: dict[tuple[int, str], list[int]] = {}
        self.seq = itertools.count()
        self.coord: dict[str, tuple[str, int, float]] = {}
        """Coordination entries: key -> (owner, value, expires_at)."""
        self.batches: dict[str, _Batch] = {}
        self.version = 0
        """Bumped on every push/release so waiting workers notice new work."""
        # Reserve and rescue must not walk every job: waiting jobs are indexed per queue
        # (entries outdated by a later filing, or by the job's end, are skipped when met).
        self.due: dict[str, list[tuple[int, float, str, int]]] = {}
        """Per queue, a heap of (-priority, available_at, id, filing) of jobs filed due."""
        self.later: dict[str, list[tuple[float, str, int]]] = {}
        """Per queue, a heap of (available_at, id, filing) of jobs filed before due."""
        self.reserved: set[str] = set()
        self._filings = itertools.count(1)

    def file(self, job: _Job) -> None:
        """Index a job that now waits: pushed, released, rescued, promoted or retried."""
        job.filed = next(self._filings)
        if job.available_at <= self.clock():
            entry = (-job.priority, job.available_at, job.id, job.filed)
            heapq.heappush(self.due.setdefault(job.queue, []), entry)
        else:
            later = (job.available_at, job.id, job.filed)
            heapq.heappush(self.later.setdefault(job.queue, []), later)

    def until_due(self, queues: Sequence[str]) -> float:
        """Seconds until the first job filed for later in ``queues`` falls due (no push
        tells a waiter that), or infinity; an outdated filing only wakes it early."""
        with self.lock:
            first = [self.later[q][0][0] for q in queues if self.later.get(q)]
        return max(min(first) - self.clock(), 0.0) if first else math.inf

    def take_due(self, queue: str, now: float, limit: int) -> list[_Job]:
        """Up to ``limit`` waiting jobs of ``queue`` due at ``now``, highest priority,
        then longest due, first; taken off the index."""
        due = self.due.setdefault(queue, [])
        later = self.later.get(queue)
        while later and later[0][0] <= now:
            at, job_id, filed = heapq.heappop(later)
            job = self.jobs.get(job_id)
            if job is not None and job.filed == filed:
                heapq.heappush(due, (-job.priority, at, job_id, filed))
        out: list[_Job] = []
        while due and len(out) < limit:
            _, at, job_id, filed = heapq.heappop(due)
            job = self.jobs.get(job_id)
            if job is None or job.filed != filed or job.token is not None:
                continue
            if at > now:  # an injected clock moved back: not due after all
                self.file(job)
                continue
            out.append(job)
        return out


@dataclass(slots=True)
class _Batch:
    record: BatchRecord
    marks: dict[str, bool] = field(default_factory=dict)
    """Job id -> failed."""


_STORES: dict[str, MemoryStore] = {}


def named_store(name: str) -> MemoryStore:
    """Return the process-wide store called ``name`` (``memory://name``)."""
    return _STORES.setdefault(name, MemoryStore())


class MemoryDriver:
    """The port on plain dicts; see the module docstring."""

    name = "memory"
    capabilities: frozenset[str] = frozenset(Capability)  # every guarantee a database gives

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def now(self) -> float:
        return self.store.clock()

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        s = self.store
        ids: list[str] = []
        with s.lock:
            for env in envelopes:
                key = env.unique_key
                if key is not None:
                    holder = self._holder(env)
                    if holder is not None:
                        ids.append(holder)
                        continue
                s.jobs[env.id] = _Job(
                    id=env.id,
                    queue=env.queue,
                    priority=env.priority,
                    available_at=env.available_at,
                    created_at=env.created_at,
                    attempts=env.attempts,
                    max_attempts=env.max_attempts,
                    body=env.encode().decode(),
                    unique_key=key,
                    unique_until=None if env.unique_for is None else s.clock() + env.unique_for,
                )
                s.file(s.jobs[env.id])
                if key is not None:
                    s.unique[key] = env.id
                ids.append(env.id)
            s.version += 1
        return ids

    def _holder(self, env: Envelope) -> str | None:
        """The job that keeps ``env`` out, after letting ``env``'s mode free the key
        (see ``Envelope.unique_mode``)."""
        s = self.store
        key = env.unique_key
        assert key is not None
        held = s.jobs.get(s.unique.get(key, ""))
        if held is None or held.unique_key != key:
            return None
        outcome = unique_outcome(
            env.unique_mode,
            holder_started=held.token is not None,
            holder_expired=held.unique_until is not None and held.unique_until <= s.clock(),
        )
        if outcome is UniqueOutcome.FOLD:
            return held.id
        if outcome is UniqueOutcome.SUPERSEDE:
            self._drop(held)
        else:
            held.unique_key = held.unique_until = None
            del s.unique[key]
        return None

    # -- consuming -------------------------------------------------------------------
    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        s = self.store
        out: list[Reservation] = []
        with s.lock:
            now = s.clock()
            for queue in queues:
                if len(out) >= limit:
                    break
                for job in s.take_due(queue, now, limit - len(out)):
                    s.reserved.add(job.id)
                    job.attempts += 1
                    job.token = os.urandom(8).hex()
                    job.lease_expires_at = now + lease_s
                    job.reserved_by = worker_id
                    out.append(
                        Reservation(
                            job.id, job.queue, job.token, job.attempts, job.body, now + lease_s
                        )
                    )
        return out

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        deadline = time.monotonic() + min(timeout_s, self.store.until_due(queues))
        version = self.store.version
        # Polling, not an Event: the store may be shared with producers on other loops.
        while time.monotonic() < deadline and self.store.version == version:  # noqa: ASYNC110
            await asyncio.sleep(min(0.002, max(deadline - time.monotonic(), 0)))

    def _held(self, res: Reservation) -> _Job | None:
        job = self.store.jobs.get(res.id)
        return job if job is not None and job.token == res.token else None

    def _drop(self, job: _Job) -> None:
        s = self.store
        del s.jobs[job.id]
        s.reserved.discard(job.id)
        if job.unique_key is not None and s.unique.get(job.unique_key) == job.id:
            del s.unique[job.unique_key]

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        lost: list[str] = []
        with self.store.lock:
            for res in reservations:
                job = self._held(res)
                if job is None:
                    lost.append(res.id)
                else:
                    self._drop(job)
        return lost

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        s = self.store
        with s.lock:
            job = self._held(reservation)
            if job is None:
                return False
            job.token = job.reserved_by = job.lease_expires_at = None
            job.attempts = envelope.attempts
            job.available_at = s.clock() + delay_s
            job.body = envelope.encode().decode()
            s.reserved.discard(job.id)
            s.file(job)
            s.version += 1
            return True

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        s = self.store
        with s.lock:
            job = self._held(reservation)
            if job is None:
                return False
            self._drop(job)
            self._to_failed(job, body, failure)
            return True

    def _to_failed(self, job: _Job, body: str, failure: Failure) -> None:
        self.store.failed[job.id] = FailedJob(
            id=job.id,
            queue=job.queue,
            name=name_of(body),
            body=body,
            exception=failure.exception,
            message=failure.message,
            traceback=failure.traceback,
            failed_at=self.store.clock(),
            attempts=job.attempts,
        )

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        lost: list[str] = []
        with self.store.lock:
            now = self.store.clock()
            for res in reservations:
                job = self._held(res)
                if job is None:
                    lost.append(res.id)
                else:
                    job.lease_expires_at = now + lease_s
        return lost

    async def rescue(self) -> RescueResult:
        s = self.store
        result = RescueResult()
        with s.lock:
            now = s.clock()
            for job in [s.jobs[i] for i in s.reserved]:
                if job.lease_expires_at is None or job.lease_expires_at > now:
                    continue
                if rescue_fails(job.attempts, job.max_attempts):
                    self._drop(job)
                    failure = Failure(LOST_WORKER_EXCEPTION, LOST_WORKER_REASON)
                    self._to_failed(job, job.body, failure)
                    result.failed.append(job.id)
                else:
                    job.token = job.reserved_by = job.lease_expires_at = None
                    job.available_at = now
                    s.reserved.discard(job.id)
                    s.file(job)
                    result.requeued.append(job.id)
            if result.requeued:
                s.version += 1
        return result

    # -- inspecting and managing -----------------------------------------------------
    def _state(self, job: _Job, now: float) -> JobState:
        if job.token is not None:
            return JobState.RESERVED
        return JobState.SCHEDULED if job.available_at > now else JobState.PENDING

    async def counts(self) -> dict[str, QueueCounts]:
        s = self.store
        with s.lock:
            now = s.clock()
            acc: dict[str, dict[str, float]] = {}
            for job in s.jobs.values():
                row = acc.setdefault(job.queue, {})
                state = self._state(job, now)
                row[state] = row.get(state, 0) + 1
                if state is JobState.PENDING:
                    oldest = row.get("oldest")
                    row["oldest"] = (
                        job.available_at if oldest is None else min(oldest, job.available_at)
                    )
            for failed in s.failed.values():
                row = acc.setdefault(failed.queue, {})
                row["failed"] = row.get("failed", 0) + 1
        return {
            q: QueueCounts(
                pending=int(r.get("pending", 0)),
                scheduled=int(r.get("scheduled", 0)),
                reserved=int(r.get("reserved", 0)),
                failed=int(r.get("failed", 0)),
                oldest_pending_at=r.get("oldest"),
            )
            for q, r in sorted(acc.items())
        }

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def clear(self, queue: str) -> int:
        s = self.store
        with s.lock:
            doomed = [j for j in s.jobs.values() if j.queue == queue and j.token is None]
            for job in doomed:
                self._drop(job)
        return len(doomed)

    def _record(self, job: _Job, now: float) -> JobRecord:
        return JobRecord(
            id=job.id,
            queue=job.queue,
            state=self._state(job, now),
            attempts=job.attempts,
            priority=job.priority,
            available_at=job.available_at,
            created_at=job.created_at,
            body=job.body,
            reserved_by=job.reserved_by,
            lease_expires_at=job.lease_expires_at,
        )

    async def find(self, job_id: str) -> JobRecord | None:
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            return None if job is None else self._record(job, self.store.clock())

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        s = self.store
        with s.lock:
            now = s.clock()
            rows = [
                self._record(j, now)
                for j in s.jobs.values()
                if (queue is None or j.queue == queue) and self._state(j, now) is state
            ]
        rows.sort(key=lambda r: (r.available_at, r.id))
        return rows[offset : offset + limit]

    async def cancel(self, job_id: str) -> bool:
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            if job is None or job.token is not None:
                return False
            self._drop(job)
            return True

    async def promote(self, job_id: str) -> bool:
        s = self.store
        with s.lock:
            job = s.jobs.get(job_id)
            now = s.clock()
            if job is None or self._state(job, now) is not JobState.SCHEDULED:
                return False
            job.available_at = now
            s.file(job)
            s.version += 1
            return True

    # -- the failed store ------------------------------------------------------------
    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        with self.store.lock:
            rows = [f for f in self.store.failed.values() if queue is None or f.queue == queue]
        rows.sort(key=lambda f: (f.failed_at, f.id), reverse=True)
        return rows[offset : offset + limit]

    async def failed_count(self, queue: str | None = None) -> int:
        with self.store.lock:
            return sum(1 for f in self.store.failed.values() if queue is None or f.queue == queue)

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        with self.store.lock:
            return sorted(i for i in self.store.failed if i.startswith(prefix))[:limit]

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        with self.store.lock:
            return sorted(i for i in self.store.jobs if i.startswith(prefix))[:limit]

    async def failed_find(self, job_id: str) -> FailedJob | None:
        return self.store.failed.get(job_id)

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        s = self.store
        done = 0
        with s.lock:
            now = s.clock()
            for job_id in job_ids:
                failed = s.failed.pop(job_id, None)
                if failed is None:
                    continue
                back = rebuild_retried(job_id, failed.queue, failed.name, failed.body, now)
                s.jobs[job_id] = _Job(
                    id=back.id,
                    queue=back.queue,
                    priority=back.priority,
                    available_at=back.available_at,
                    created_at=back.created_at,
                    attempts=back.attempts,
                    max_attempts=back.max_attempts,
                    body=back.body,
                )
                s.file(s.jobs[job_id])
                done += 1
            s.version += 1
        return done

    async def failed_retry_all(self, queue: str | None = None) -> int:
        with self.store.lock:
            ids = [f.id for f in self.store.failed.values() if queue is None or f.queue == queue]
            return await self.failed_retry(ids)

    async def failed_forget(self, job_id: str) -> bool:
        with self.store.lock:
            return self.store.failed.pop(job_id, None) is not None

    async def failed_flush(self, queue: str | None = None) -> int:
        with self.store.lock:
            ids = [f.id for f in self.store.failed.values() if queue is None or f.queue == queue]
            for job_id in ids:
                del self.store.failed[job_id]
        return len(ids)

    async def failed_prune(self, before: float) -> int:
        with self.store.lock:
            ids = [f.id for f in self.store.failed.values() if f.failed_at < before]
            for job_id in ids:
                del self.store.failed[job_id]
        return len(ids)

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        added = 0
        with self.store.lock:
            for record in records:
                if record.id not in self.store.failed:
                    self.store.failed[record.id] = record
                    added += 1
        return added

    # -- workers and control ---------------------------------------------------------
    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        with self.store.lock:
            self.store.workers[record.id] = (seen(record, self.store.clock()), ttl_s)

    async def worker_gone(self, worker_id: str) -> None:
        with self.store.lock:
            self.store.workers.pop(worker_id, None)

    async def workers(self) -> list[WorkerRecord]:
        with self.store.lock:
            now = self.store.clock()
            return [r for r, ttl in self.store.workers.values() if r.last_seen + ttl >= now]

    async def pause(self, queue: str) -> None:
        with self.store.lock:
            self.store.paused.add(queue)

    async def resume(self, queue: str) -> None:
        with self.store.lock:
            self.store.paused.discard(queue)
            self.store.version += 1

    async def paused(self) -> set[str]:
        return set(self.store.paused)

    async def signal_restart(self) -> float:
        self.store.restart_at = self.store.clock()
        return self.store.restart_at

    async def restart_signal(self) -> float | None:
        return self.store.restart_at

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        with self.store.lock:
            for queue, (processed, failed) in counts.items():
                bucket = self.store.throughput.setdefault((minute, queue), [0, 0])
                bucket[0] += processed
                bucket[1] += failed

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        with self.store.lock:
            return [
                ThroughputBucket(minute, queue, p, f)
                for (minute, queue), (p, f) in sorted(self.store.throughput.items())
                if minute >= since
            ]

    # -- coordination ----------------------------------------------------------------
    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        s = self.store
        with s.lock:
            now = s.clock()
            _, value, expires = s.coord.get("c:" + key, ("", 0, 0.0))
            if expires <= now:
                value, expires = 0, now + ttl_s
            value += by
            s.coord["c:" + key] = ("", value, expires)
            return value

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        s = self.store
        with s.lock:
            now = s.clock()
            held, _, expires = s.coord.get("l:" + key, ("", 0, 0.0))
            if expires > now and held != owner:
                return False
            s.coord["l:" + key] = (owner, 0, now + ttl_s)
            return True

    async def lock_release(self, key: str, owner: str) -> bool:
        s = self.store
        with s.lock:
            held, _, expires = s.coord.get("l:" + key, ("", 0, 0.0))
            if held != owner or expires <= s.clock():
                return False
            del s.coord["l:" + key]
            return True

    async def lock_owner(self, key: str) -> str | None:
        s = self.store
        with s.lock:
            held, _, expires = s.coord.get("l:" + key, ("", 0, 0.0))
            return held if expires > s.clock() else None

    # -- batches ---------------------------------------------------------------------
    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        s = self.store
        with s.lock:
            found = s.batches.get(record.id)
            if found is None:
                s.batches[record.id] = _Batch(replace(record, created_at=s.clock()))
            else:
                found.record = replace(found.record, total=found.record.total + record.total)
            return await self.push([e.with_changes(unique_key=None) for e in envelopes])

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        s = self.store
        with s.lock:
            found = s.batches.get(batch_id)
            if found is None:
                return None
            rec = found.record
            before = found.marks.get(job_id)
            if before is None:
                found.marks[job_id] = failed
                rec = replace(
                    rec, processed=rec.processed + (not failed), failed=rec.failed + failed
                )
            elif before and not failed:
                found.marks[job_id] = False
                rec = replace(rec, processed=rec.processed + 1, failed=rec.failed - 1)
            if rec.finished_at is None and rec.processed + rec.failed >= rec.total:
                rec = replace(rec, finished_at=s.clock())
            found.record = rec
            return rec

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        with self.store.lock:
            found = self.store.batches.get(batch_id)
            if found is None:
                return None
            if not with_failed:
                return found.record
            failed = tuple(sorted(j for j, f in found.marks.items() if f))
            return replace(found.record, failed_ids=failed)

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        with self.store.lock:
            rows = [b.record for b in self.store.batches.values()]
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return rows[offset : offset + limit]

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        s = self.store
        with s.lock:
            found = s.batches.get(batch_id)
            if found is None:
                return False
            if not cancelled:
                found.record = replace(found.record, cancelled_at=None)
            elif found.record.cancelled_at is None:
                found.record = replace(found.record, cancelled_at=s.clock())
            return True

    async def batch_prune(self, before: float) -> int:
        s = self.store
        with s.lock:
            doomed = [
                b.record.id
                for b in s.batches.values()
                if min(b.record.finished_at or before, b.record.cancelled_at or before) < before
            ]
            for batch_id in doomed:
                del s.batches[batch_id]
        return len(doomed)
