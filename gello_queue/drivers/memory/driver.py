"""In-process driver for tests and examples: the reference behaviour of the port.

State lives in a ``MemoryStore`` that several driver instances (one per event loop) can
share, so blocking producers and an async worker in the same process see the same jobs.
Its clock is injectable, which lets tests move time forward instead of sleeping.

Where things are
----------------
``MemoryDriver`` runs the hot path itself: push (with unique keys), reserve, wait and
ack, so those make no await beyond what they did as one class. Every other call goes to
its subsystem's part, each holding the same store::

    store.py         the store, its waiting index, and the steps the parts share
    leases.py        release, fail, lease renewal and rescue
    queues.py        counts, listings, find, cancel, promote, clear
    failed_store.py  the failed store
    registry.py      heartbeats, paused queues, the restart signal, throughput, timings,
                     operational events
    coordination.py  shared counters and locks
    results.py       kept job results
    progress.py      running jobs' progress
    batches.py       batches
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence

from gello_queue.core.envelope import Envelope
from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
)
from gello_queue.core.job_query import JobPage
from gello_queue.core.states import JobState
from gello_queue.core.unique import UniqueOutcome, unique_outcome
from gello_queue.drivers.memory.batches import Batches
from gello_queue.drivers.memory.coordination import Coordination
from gello_queue.drivers.memory.failed_store import FailedStore
from gello_queue.drivers.memory.history import History
from gello_queue.drivers.memory.leases import Leases
from gello_queue.drivers.memory.progress import ProgressMap
from gello_queue.drivers.memory.queues import Queues
from gello_queue.drivers.memory.registry import Registry
from gello_queue.drivers.memory.results import Results
from gello_queue.drivers.memory.store import MemoryStore, _Job
from gello_queue.ports import (
    BatchRecord,
    Capability,
    CompletedJob,
    FailedJob,
    Failure,
    JobRecord,
    OpsEvent,
    Progress,
    QueueCounts,
    RescueResult,
    Reservation,
    ThroughputBucket,
    TimingCount,
    WorkerRecord,
)


class MemoryDriver:
    """The port on plain dicts; see the module docstring."""

    name = "memory"
    capabilities: frozenset[str] = frozenset(Capability)  # every guarantee a database gives

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()
        self._leases = Leases(self.store)
        self._queues = Queues(self.store)
        self._failed = FailedStore(self.store)
        self._registry = Registry(self.store)
        self._coordination = Coordination(self.store)
        self._results = Results(self.store)
        self._progress = ProgressMap(self.store)
        self._history = History(self.store)
        self._batches = Batches(self.store, self.push)
        self._seen: int | None = None
        """The store's version when the last reserve looked (see ``wait``)."""

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
            s.drop(held)
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
            self._seen = s.version
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
        # From the last reserve, not from now: a job pushed in between (while the worker
        # went from its empty reserve to this wait) must wake it, not wait out the timeout.
        version, self._seen = self._seen if self._seen is not None else self.store.version, None
        # Polling, not an Event: the store may be shared with producers on other loops.
        while time.monotonic() < deadline and self.store.version == version:  # noqa: ASYNC110
            await asyncio.sleep(min(0.002, max(deadline - time.monotonic(), 0)))

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        with self.store.lock:
            return self._ack_locked(reservations)

    def _ack_locked(self, reservations: Sequence[Reservation]) -> list[str]:
        s = self.store
        lost: list[str] = []
        for res in reservations:
            job = s.held(res)
            if job is None:
                lost.append(res.id)
            else:
                s.drop(job)
        return lost

    # -- completed jobs (history.py) -------------------------------------------------
    async def ack_recording(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        with self.store.lock:
            lost = self._ack_locked(reservations)
            self._history.record(completed, lost, keep)
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
        return await self._history.recent(queue=queue, name=name, limit=limit, since=since, tag=tag)

    async def history_counts(self) -> dict[str, int]:
        return await self._history.history_counts()

    async def history_trim(self, keep: int) -> int:
        return await self._history.history_trim(keep)

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        return await self._history.history_prune(before, monitored_before=monitored_before)

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        return await self._history.tag_monitor(tag, monitored)

    async def tags_monitored(self) -> list[str]:
        return await self._history.tags_monitored()

    # -- after reserving (leases.py) -------------------------------------------------
    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        return await self._leases.release(reservation, envelope, delay_s)

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        return await self._leases.fail(reservation, body, failure)

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        return await self._leases.extend(reservations, lease_s)

    async def rescue(self) -> RescueResult:
        return await self._leases.rescue()

    # -- inspecting and managing (queues.py) -----------------------------------------
    async def counts(self) -> dict[str, QueueCounts]:
        return await self._queues.counts()

    async def queues(self) -> list[str]:
        return await self._queues.queues()

    async def clear(self, queue: str) -> int:
        return await self._queues.clear(queue)

    async def find(self, job_id: str) -> JobRecord | None:
        return await self._queues.find(job_id)

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        return await self._queues.jobs(queue, state, limit=limit, offset=offset)

    async def cancel(self, job_id: str) -> bool:
        return await self._queues.cancel(job_id)

    async def promote(self, job_id: str) -> bool:
        return await self._queues.promote(job_id)

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        return await self._queues.job_ids_by_prefix(prefix, limit)

    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        return await self._queues.jobs_search(state, query, limit=limit, cursor=cursor)

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        return await self._queues.jobs_tally(state, query)

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._queues.jobs_cancel_step(state, query, limit=limit, cursor=cursor)

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._queues.jobs_promote_step(query, limit=limit, cursor=cursor)

    # -- the failed store (failed_store.py) ------------------------------------------
    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        return await self._failed.failed_list(queue=queue, limit=limit, offset=offset)

    async def failed_count(self, queue: str | None = None) -> int:
        return await self._failed.failed_count(queue)

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        return await self._failed.failed_ids_by_prefix(prefix, limit)

    async def failed_find(self, job_id: str) -> FailedJob | None:
        return await self._failed.failed_find(job_id)

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        return await self._failed.failed_retry(job_ids)

    async def failed_retry_all(self, queue: str | None = None) -> int:
        return await self._failed.failed_retry_all(queue)

    async def failed_forget(self, job_id: str) -> bool:
        return await self._failed.failed_forget(job_id)

    async def failed_flush(self, queue: str | None = None) -> int:
        return await self._failed.failed_flush(queue)

    async def failed_prune(self, before: float) -> int:
        return await self._failed.failed_prune(before)

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        return await self._failed.failed_import(records)

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        return await self._failed.failed_search(query, limit=limit, cursor=cursor)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        return await self._failed.failed_tally(query)

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        return await self._failed.failed_groups(query)

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._failed.failed_retry_step(query, limit=limit, cursor=cursor)

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._failed.failed_purge_step(query, limit=limit, cursor=cursor)

    # -- workers and control (registry.py) -------------------------------------------
    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        await self._registry.worker_beat(record, ttl_s)

    async def worker_gone(self, worker_id: str) -> None:
        await self._registry.worker_gone(worker_id)

    async def worker_command(self, worker_id: str, command: str) -> None:
        await self._registry.worker_command(worker_id, command)

    async def worker_command_take(self, worker_id: str) -> str | None:
        return await self._registry.worker_command_take(worker_id)

    async def workers(self) -> list[WorkerRecord]:
        return await self._registry.workers()

    async def pause(self, queue: str) -> None:
        await self._registry.pause(queue)

    async def resume(self, queue: str) -> None:
        await self._registry.resume(queue)

    async def paused(self) -> set[str]:
        return await self._registry.paused()

    async def signal_restart(self) -> float:
        return await self._registry.signal_restart()

    async def restart_signal(self) -> float | None:
        return await self._registry.restart_signal()

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        await self._registry.record_throughput(counts, minute)

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        return await self._registry.throughput(since)

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        await self._registry.record_timings(counts)

    async def timings(self, since: float) -> list[TimingCount]:
        return await self._registry.timings(since)

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        await self._registry.events_add(events)

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        return await self._registry.events_recent(limit=limit, since=since)

    # -- coordination (coordination.py) ----------------------------------------------
    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        return await self._coordination.counter_incr(key, by, ttl_s)

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        return await self._coordination.lock_acquire(key, owner, ttl_s)

    async def lock_release(self, key: str, owner: str) -> bool:
        return await self._coordination.lock_release(key, owner)

    async def lock_owner(self, key: str) -> str | None:
        return await self._coordination.lock_owner(key)

    # -- results (results.py) --------------------------------------------------------
    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        await self._results.result_put(job_id, data, ttl_s)

    async def result_get(self, job_id: str) -> str | None:
        return await self._results.result_get(job_id)

    # -- progress (progress.py) -------------------------------------------------------
    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        await self._progress.progress_put(job_id, progress, ttl_s)

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        return await self._progress.progress_get(job_ids)

    # -- batches (batches.py) --------------------------------------------------------
    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        return await self._batches.batch_push(record, envelopes)

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        return await self._batches.batch_mark(batch_id, job_id, failed)

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        return await self._batches.batch_find(batch_id, with_failed=with_failed)

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        return await self._batches.batch_list(limit=limit, offset=offset)

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        return await self._batches.batch_cancel(batch_id, cancelled=cancelled)

    async def batch_prune(self, before: float) -> int:
        return await self._batches.batch_prune(before)
