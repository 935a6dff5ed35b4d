"""``JobMetrics``: Prometheus metrics fed by lifecycle events, and the backend gauges.

An event listener: each job event costs a dict lookup and a few adds to a plain tally
(``tallies.py``), moved into prometheus-client by ``flush``. Gauges that need the backend
(queue depth, oldest pending age, busy workers) are refreshed by a periodic collector
task in the worker's loop, never on the hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.states import WorkerState
from gello_queue.events import (
    Events,
    JobDispatched,
    JobFailed,
    JobLeaseLost,
    JobProcessed,
    JobReleased,
    JobReserved,
    JobRetrying,
    JobsRescued,
    WorkerEvent,
)
from gello_queue.health import backend_restarts
from gello_queue.metrics.tallies import (
    DISPATCHED,
    FAILED,
    LEASE_LOST,
    MAX_LABEL_SETS,
    PROCESSED,
    RELEASED,
    RESCUED,
    RETRIED,
    RUN_BOUNDS,
    RUN_BUCKETS,
    WAIT_BOUNDS,
    WAIT_BUCKETS,
    Tally,
    add_buckets,
)
from gello_queue.ports import QueueDriver

if TYPE_CHECKING:
    from gello_queue.queue import Queue
    from gello_queue.worker.runtime import Worker

FLUSH_EVERY_S = 1.0
COLLECT_EVERY_S = 5.0
STATES = ("pending", "scheduled", "reserved", "failed")
LABELS = ("queue", "job")


class JobMetrics:
    """Counters and histograms of job events, and gauges of the backend."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, LABELS, registry=r)

        self.dispatched = counter("gello_jobs_dispatched", "Jobs stored by producers.")
        self.processed = counter("gello_jobs_processed", "Jobs that completed.")
        self.failed = counter("gello_jobs_failed", "Jobs that ended in the failed store.")
        self.retried = counter("gello_jobs_retried", "Failed attempts that will run again.")
        self.released = counter("gello_jobs_released", "Jobs that put themselves back.")
        self.rescued = counter("gello_jobs_rescued", "Jobs whose worker stopped answering.")
        self.lease_lost = counter(
            "gello_jobs_lease_lost",
            "Attempts whose ack, release or fail the backend refused: the lease had expired.",
        )
        self.run = Histogram(
            "gello_job_run_seconds", "Run time of an attempt.", LABELS, buckets=RUN_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.wait = Histogram(
            "gello_job_wait_seconds", "From dispatch or due time to start.", LABELS,
            buckets=WAIT_BUCKETS, registry=r,
        )  # fmt: skip
        # Backend-wide gauges: in multiprocess mode the freshest child's value wins.
        mode: Any = "mostrecent"
        self.depth = Gauge(
            "gello_queue_jobs", "Jobs per queue and state.", ("queue", "state"), registry=r,
            multiprocess_mode=mode,
        )  # fmt: skip
        self.oldest = Gauge(
            "gello_queue_oldest_pending_age_seconds", "Age of the oldest pending job.",
            ("queue",), registry=r, multiprocess_mode=mode,
        )  # fmt: skip
        self.busy = Gauge(
            "gello_workers_busy", "Jobs running over all live workers.", registry=r,
            multiprocess_mode=mode,
        )  # fmt: skip
        self.concurrency = Gauge(
            "gello_workers_concurrency", "Job slots over all live workers.", registry=r,
            multiprocess_mode=mode,
        )  # fmt: skip
        self.workers = Gauge(
            "gello_workers", "Live workers (heartbeat within their lease).", registry=r,
            multiprocess_mode=mode,
        )  # fmt: skip
        self.restarts = Gauge(
            "gello_backend_restarts", "Restarts of the backend server noticed while workers"
            " ran (Redis; recorded in the backend).", registry=r, multiprocess_mode=mode,
        )  # fmt: skip
        self._tallies: dict[tuple[str, str], Tally] = {}
        self._children: dict[tuple[str, str], _Children] = {}
        self._rescued: list[tuple[str, bool]] = []
        self._known_queues: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._tapped: set[int] = set()
        self._handlers: dict[type, Callable[[Any], None]] = {
            JobReserved: self._on_reserved,
            JobProcessed: self._on_processed,
            JobFailed: self._on_failed,
            JobRetrying: self._on_retrying,
            JobReleased: self._on_released,
            JobDispatched: self._on_dispatched,
            JobsRescued: self._on_rescued,
            JobLeaseLost: self._on_lease_lost,
        }

    # -- the listener (hot path: see tallies.py) ---------------------------------------
    def __call__(self, event: Any) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _tally(self, queue: str, job: str) -> Tally:
        found = self._tallies.get((queue, job))
        if found is None:
            if len(self._tallies) >= MAX_LABEL_SETS:
                queue = job = "other"
                found = self._tallies.get((queue, job))
                if found is not None:
                    return found
            found = self._tallies[(queue, job)] = Tally()
        return found

    def _on_reserved(self, e: JobReserved) -> None:
        t = self._tally(e.queue, e.name)
        wait = e.wait_s if e.wait_s > 0 else 0.0
        t.wait[bisect_left(WAIT_BOUNDS, wait)] += 1
        t.wait_sum += wait

    def _ran(self, e: JobProcessed | JobFailed | JobRetrying, kind: int) -> None:
        t = self._tally(e.queue, e.name)
        t.counts[kind] += 1
        t.run[bisect_left(RUN_BOUNDS, e.duration_s)] += 1
        t.run_sum += e.duration_s

    def _on_processed(self, e: JobProcessed) -> None:
        self._ran(e, PROCESSED)

    def _on_failed(self, e: JobFailed) -> None:
        self._ran(e, FAILED)

    def _on_retrying(self, e: JobRetrying) -> None:
        self._ran(e, RETRIED)

    def _on_released(self, e: JobReleased) -> None:
        self._tally(e.queue, e.name).counts[RELEASED] += 1

    def _on_lease_lost(self, e: JobLeaseLost) -> None:
        self._tally(e.queue, e.name).counts[LEASE_LOST] += 1

    def _on_dispatched(self, e: JobDispatched) -> None:
        self._tally(e.queue, e.name).counts[DISPATCHED] += 1

    def _on_rescued(self, e: JobsRescued) -> None:
        # The event carries ids only: the collector looks up their queue and job.
        self._rescued += [(i, False) for i in e.requeued] + [(i, True) for i in e.failed]

    def flush(self) -> None:
        """Move the tallies into the prometheus-client metrics (call from the thread that
        emits the events: the worker's loop)."""
        for key, t in self._tallies.items():
            if not t.dirty():
                continue
            c = self._children.get(key)
            if c is None:
                c = self._children[key] = _Children(self, *key)
            for kind, n in enumerate(t.counts):
                if n:
                    c.counters[kind].inc(n)
            add_buckets(c.run, t.run, t.run_sum)
            add_buckets(c.wait, t.wait, t.wait_sum)
            t.reset()

    # -- the collector ---------------------------------------------------------------------
    async def collect(self, driver: QueueDriver) -> None:
        """Refresh the backend gauges and label pending rescues."""
        now = await driver.now()
        counts = await driver.counts()
        for queue in self._known_queues - counts.keys():
            for state in STATES:
                self.depth.labels(queue, state).set(0)
            self.oldest.labels(queue).set(0)
        self._known_queues = set(counts)
        for queue, c in counts.items():
            for state in STATES:
                self.depth.labels(queue, state).set(getattr(c, state))
            age = 0.0 if c.oldest_pending_at is None else max(now - c.oldest_pending_at, 0.0)
            self.oldest.labels(queue).set(age)
        workers = await driver.workers()
        self.workers.set(len(workers))
        self.busy.set(sum(min(len(w.current_jobs), w.concurrency) for w in workers))
        self.concurrency.set(sum(w.concurrency for w in workers))
        restarts = await backend_restarts(driver)
        self.restarts.set(0 if restarts is None else restarts["count"])
        rescued, self._rescued = self._rescued, []
        for job_id, failed in rescued:
            queue, name = await _whereabouts(driver, job_id, failed)
            self._tally(queue, name).counts[RESCUED] += 1
        self.flush()

    async def collect_forever(self, driver: QueueDriver, every_s: float = COLLECT_EVERY_S) -> None:
        """Flush every second and ``collect`` every ``every_s`` until cancelled; a failing
        backend is skipped."""
        due = 0.0
        while True:
            now = time.monotonic()
            if now >= due:
                due = now + every_s
                with contextlib.suppress(Exception):
                    await self.collect(driver)
            self.flush()
            await asyncio.sleep(min(FLUSH_EVERY_S, every_s))

    # -- wiring ------------------------------------------------------------------------------
    def attach(self, worker: Worker, *, every_s: float = COLLECT_EVERY_S) -> None:
        """Listen to ``worker``'s events (and count the jobs its jobs dispatch); run the
        collector while the worker runs."""
        from gello_queue.dispatch_hooks import emit_dispatches
        from gello_queue.queue import default_queue

        worker.events.subscribe(self)
        for queue in (worker.connection, default_queue()):
            if self._tap(queue):
                emit_dispatches(queue, worker.events)

        def lifecycle(event: Any) -> None:
            if not isinstance(event, WorkerEvent):
                return
            if event.started and self._task is None:
                self._task = asyncio.get_running_loop().create_task(
                    self._collect_for(worker, every_s)
                )
            elif event.state is WorkerState.STOPPED and self._task is not None:
                self._task.cancel()
                self._task = None
                self.flush()

        worker.events.subscribe(lifecycle)

    async def _collect_for(self, worker: Worker, every_s: float) -> None:
        await self.collect_forever(await worker.connection.driver(), every_s)

    def instrument_producer(self, queue: Queue, events: Events | None = None) -> Events:
        """Count dispatches made through ``queue`` (for web processes that serve metrics)."""
        from gello_queue.dispatch_hooks import emit_dispatches

        events = events if events is not None else Events()
        # Producers have no flushing loop and may dispatch from many threads: count
        # straight into prometheus-client (thread-safe), off any worker's hot path.
        events.subscribe(self._dispatched_now)
        if self._tap(queue):
            emit_dispatches(queue, events)
        return events

    def _tap(self, queue: Queue) -> bool:
        """True the first time ``queue`` is seen: each queue's dispatches count once."""
        if id(queue) in self._tapped:
            return False
        self._tapped.add(id(queue))
        return True

    def _dispatched_now(self, event: Any) -> None:
        if isinstance(event, JobDispatched):
            key = (event.queue, event.name)
            if key not in self._children and len(self._children) >= MAX_LABEL_SETS:
                key = ("other", "other")
            c = self._children.get(key)
            if c is None:
                c = self._children[key] = _Children(self, *key)
            c.counters[DISPATCHED].inc()

    def render(self) -> bytes:
        """The text exposition format of this registry (after a flush: call it from the
        thread that emits the events, or when none runs)."""
        self.flush()
        return generate_latest(self.registry)


class _Children:
    """Labelled prometheus-client children of one (queue, job) pair."""

    __slots__ = ("counters", "run", "wait")

    def __init__(self, m: JobMetrics, queue: str, job: str) -> None:
        kinds = (
            m.dispatched, m.processed, m.failed, m.retried, m.released, m.rescued, m.lease_lost
        )  # fmt: skip
        self.counters = [k.labels(queue, job) for k in kinds]
        self.run = m.run.labels(queue, job)
        self.wait = m.wait.labels(queue, job)


async def _whereabouts(driver: QueueDriver, job_id: str, failed: bool) -> tuple[str, str]:
    try:
        if failed:
            found = await driver.failed_find(job_id)
            if found is not None:
                return found.queue, found.name
        else:
            record = await driver.find(job_id)
            if record is not None:
                return record.queue, Envelope.decode(record.body).name
    except (EnvelopeError, OSError):
        pass  # the counter still counts it, under "unknown"
    except Exception:
        pass  # a backend error must not stop the collector
    return "unknown", "unknown"
