"""The worker: reserve jobs up to the concurrency, run them, keep leases alive.

``Worker.start()`` blocks and processes until ``stop()``. Leases are short and renewed by
one heartbeat for all running jobs, so a long job is never rescued while its worker lives,
and a dead worker's jobs run again within about one lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psutil

from gello_queue.core.dispatcher import default_connection
from gello_queue.core.envelope import new_id
from gello_queue.core.registry import JobRegistry
from gello_queue.core.states import WorkerState
from gello_queue.events import (
    Events,
    JobProcessed,
    JobReleased,
    JobsRescued,
    WorkerEvent,
    log_listener,
)
from gello_queue.observability import get_logger
from gello_queue.ports import QueueDriver, Reservation, ReserveWait, WorkerRecord
from gello_queue.worker.executor import ABANDON_AFTER_S, Executor, ExecutorOptions, Outcome
from gello_queue.worker.extension import WorkerExtension, defaults_for
from gello_queue.worker.isolation import ProcessPool
from gello_queue.worker.maintenance import Maintenance
from gello_queue.worker.states import ExitReason

if TYPE_CHECKING:
    from gello_queue.queue import Queue


def parse_memory(value: int | str | None) -> int | None:
    """Bytes in ``512MB``, ``1GB``, ``300`` (megabytes) or ``None``.

    Raises:
        ConfigurationError: ``value`` is not a positive, finite size.
    """
    import math

    from gello_queue.core.errors import ConfigurationError

    if value is None:
        return None
    number, unit = str(value).strip().upper().removesuffix("B"), 1024**2
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if number[-1:] in units:
        number, unit = number[:-1], units[number[-1]]
    try:
        size = float(number) * unit
    except ValueError:
        size = math.nan
    if not math.isfinite(size) or size < 1:
        raise ConfigurationError(
            f"{value!r} is not a memory size: give a positive size such as 512MB, 1.5GB or"
            " 300 (megabytes)"
        )
    return int(size)


@dataclass(slots=True)
class WorkerStatus:
    """What ``Worker.status()`` returns."""

    id: str
    state: WorkerState
    processed: int
    failed: int
    current_jobs: list[str]
    started_at: float | None
    uptime_s: float
    memory_bytes: int


@dataclass(slots=True)
class _Counters:
    processed: int = 0
    failed: int = 0
    handled: int = 0
    per_queue: dict[str, list[int]] = field(default_factory=dict)

    def count(self, queue: str, outcome: Outcome) -> None:
        # A processed job counts once the backend accepts its ack (``completed``).
        self.handled += 1
        if outcome is Outcome.FAILED:
            self.failed += 1
            self.per_queue.setdefault(queue, [0, 0])[1] += 1

    def completed(self, queue: str) -> None:
        self.processed += 1
        self.per_queue.setdefault(queue, [0, 0])[0] += 1


class Worker:
    """Processes jobs from queues of one connection.

    Args:
        queues: queue names in strict order: a later one is served only when earlier ones
            are empty.
        concurrency: jobs run at once.
        connection: the ``Queue`` to serve (the default one when omitted).
        memory_limit: exit after the current jobs when RSS passes it (``"512MB"``); a
            blocking handler's process over it is replaced after its job.
        sleep_s: longest idle wait before polling again (delayed jobs are noticed within it).
        lease_s: lease length; renewed every third of it while a job runs.
        grace_s: how long a graceful stop waits for running jobs before releasing them.
        extensions: what to attach at start; by default what the settings turn on
            (metrics, health probes, tracing, retention), as ``gello queue:work`` does.
    """

    def __init__(
        self,
        queues: Sequence[str] | None = None,
        *,
        concurrency: int = 1,
        connection: Queue | None = None,
        registry: JobRegistry | None = None,
        name: str | None = None,
        memory_limit: int | str | None = None,
        sleep_s: float = 1.0,
        lease_s: float | None = None,
        grace_s: float = 30.0,
        timeout_s: float | None = None,
        tries: int | None = None,
        backoff: Any = None,
        max_jobs: int | None = None,
        max_time_s: float | None = None,
        stop_when_empty: bool = False,
        events: Events | None = None,
        extensions: Sequence[WorkerExtension] | None = None,
    ) -> None:
        # The facade sits above the worker: its default queue comes through core's port.
        self.connection: Queue = connection or default_connection()
        settings = self.connection.settings
        self.queues = list(queues or [settings.queue_default])
        self.concurrency = max(1, concurrency)
        self.registry = registry or self.connection.registry
        self.id = new_id()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.memory_limit = parse_memory(memory_limit)
        self.sleep_s = sleep_s
        self.lease_s = lease_s or settings.queue_lease
        self.grace_s = grace_s
        self.max_jobs = max_jobs
        self.max_time_s = max_time_s
        self.stop_when_empty = stop_when_empty
        self.options = ExecutorOptions(
            timeout_s=timeout_s or settings.queue_timeout,
            backoff=backoff if backoff is not None else settings.queue_retry_after,
            tries=tries,
        )
        self.state = WorkerState.STOPPED
        self.started_at: float | None = None
        self.exit_reason = ExitReason.STOPPED
        self.counters = _Counters()
        self.active: dict[str, tuple[Reservation, asyncio.Task[Outcome]]] = {}
        self.paused_queues: set[str] = set()
        self.log = get_logger()
        self.events = events if events is not None else Events([log_listener])
        self.extensions = None if extensions is None else list(extensions)
        """Attached at ``start()``; ``None`` means what the settings turn on (see
        ``gello_queue.extensions``), ``[]`` none at all."""
        """Lifecycle events of this worker and its jobs; ``subscribe`` to observe them."""
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        self._acks: list[Reservation] = []
        self._done: list[JobProcessed] = []
        """What to announce for each of ``_acks`` once the backend accepted it."""
        self._executor: Executor | None = None
        self._ack_ready = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._process = psutil.Process()
        self._driver: QueueDriver | None = None
        self._failures = 0
        self._settling: set[asyncio.Task[None]] = set()
        self._ignoring: dict[asyncio.Task[Outcome], float] = {}
        """Runs cancelled but still running, with when that was first seen."""
        self._lingering: set[asyncio.Task[Outcome]] = set()
        """Abandoned runs (outcome stored without them) whose task still runs: each keeps
        its slot until it ends."""
        self._hurry = asyncio.Event()

    # -- control ---------------------------------------------------------------------
    def stop(self, reason: ExitReason = ExitReason.STOPPED) -> None:
        """Stop taking jobs; running ones finish within the grace period."""
        if not self._stop.is_set():
            self.exit_reason = reason
            previous, self.state = self.state, WorkerState.STOPPING
            self._stop.set()
            self._announce(previous, reason=str(reason))
            self._resume.set()
            self._wake.set()
            self._slot_free.set()

    def stop_now(self) -> None:
        """Stop and release running jobs back to their queue at once (also while a
        graceful stop already waits for them)."""
        self.grace_s = 0
        self._hurry.set()
        self.stop()

    def pause(self) -> None:
        """Stop taking new jobs until ``resume()``; running jobs go on."""
        if self.state is WorkerState.RUNNING:
            self.state = WorkerState.PAUSED
            self._resume.clear()
            self._announce(WorkerState.RUNNING)

    def resume(self) -> None:
        """Take jobs again after ``pause()``."""
        if self.state is WorkerState.PAUSED:
            self.state = WorkerState.RUNNING
            self._resume.set()
            self._announce(WorkerState.PAUSED)

    def _announce(self, previous: WorkerState, **detail: Any) -> None:
        """Tell listeners the worker moved from ``previous`` to its current state."""
        self.events.emit(WorkerEvent(self.id, self.name, self.state, previous, detail))

    def status(self) -> WorkerStatus:
        """A snapshot of the worker's state and counters."""
        now = time.time()
        return WorkerStatus(
            id=self.id,
            state=self.state,
            processed=self.counters.processed,
            failed=self.counters.failed,
            current_jobs=list(self.active),
            started_at=self.started_at,
            uptime_s=0.0 if self.started_at is None else now - self.started_at,
            memory_bytes=self.memory_bytes(),
        )

    def memory_bytes(self) -> int:
        """Resident memory of this process."""
        return int(self._process.memory_info().rss)

    def record(self) -> WorkerRecord:
        """The heartbeat stored in the backend."""
        return WorkerRecord(
            id=self.id,
            name=self.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=self.queues,
            concurrency=self.concurrency,
            state=str(self.state),
            processed=self.counters.processed,
            failed=self.counters.failed,
            current_jobs=list(self.active)[:50],
            started_at=self.started_at or 0.0,
            memory_bytes=self.memory_bytes(),
        )

    # -- the loop --------------------------------------------------------------------
    async def start(self) -> ExitReason:
        """Process jobs until stopped; return why it stopped.

        The extensions the settings turn on (metrics, health probes, tracing, retention)
        are attached first and stopped last, as ``gello queue:work`` does.
        """
        self.state = WorkerState.STARTING
        try:
            driver = self._driver = await self.connection.driver()
            stops = self._attach_extensions()
        except BaseException:
            self.state = WorkerState.STOPPED
            raise
        try:
            return await self._serve(driver)
        finally:
            for stop in reversed(stops):
                stop()

    def _attach_extensions(self) -> list[Callable[[], None]]:
        chosen = defaults_for(self) if self.extensions is None else self.extensions
        stops: list[Callable[[], None]] = []
        try:
            for extension in chosen:
                stop = extension.attach(self)
                if stop is not None:
                    stops.append(stop)
        except BaseException:
            for stop in reversed(stops):
                stop()
            raise
        return stops

    async def _serve(self, driver: QueueDriver) -> ExitReason:
        pool = ProcessPool(self.registry, self.concurrency, self.memory_limit)
        executor = self._executor = Executor(
            driver, self.registry, self.options, ack=self._ack, events=self.events, pool=pool
        )
        self.state = WorkerState.RUNNING
        self.started_at = time.time()
        # Jobs failed by rescue (their worker died on the last attempt) still stop their
        # chain and count in their batch.
        unsubscribe = self.events.subscribe(lambda e: self._rescued(executor, e))
        maintenance = Maintenance(self, driver)
        await maintenance.prime()
        # Always announced as a start, even if a stop came while connecting: the
        # extensions that start on it are then stopped by the "stopped" move.
        self._announce(
            WorkerState.STARTING,
            queues=",".join(self.queues),
            concurrency=self.concurrency,
            connection=repr(self.connection),
        )
        background = [
            asyncio.create_task(self._flush_acks(driver)),
            asyncio.create_task(maintenance.run()),
        ]
        try:
            await self._loop(driver, executor)
            await self._drain()
        finally:
            await self._flush_once(driver)
            for task in background:
                task.cancel()
            # Bounded: a client library that swallows a cancellation mid-call (seen with
            # redis-py during an ack) must not keep the worker from stopping.
            await asyncio.wait(background, timeout=5.0)
            await maintenance.finish()
            unsubscribe()
            pool.close()
            previous, self.state = self.state, WorkerState.STOPPED
            self._announce(
                previous,
                reason=str(self.exit_reason),
                processed=self.counters.processed,
                failed=self.counters.failed,
            )
        return self.exit_reason

    async def _loop(self, driver: QueueDriver, executor: Executor) -> None:
        threshold = max(1, self.concurrency // 4)
        # An optional port, found once: a driver that can wait and lease in one call.
        waits = driver if isinstance(driver, ReserveWait) else None
        while not self._stop.is_set():
            await self._resume.wait()
            if self._stop.is_set():
                break
            free = self.concurrency - len(self.active) - len(self._lingering)
            if free < threshold and (self.active or self._lingering):
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            if self.max_jobs is not None:
                free = min(free, self.max_jobs - self.counters.handled - len(self.active))
                if free <= 0:
                    if not self.active:
                        self.stop(ExitReason.MAX_JOBS)
                    else:
                        self._slot_free.clear()
                        await self._slot_free.wait()
                    continue
            queues = [q for q in self.queues if q not in self.paused_queues]
            try:
                batch = await driver.reserve(queues, free, lease_s=self.lease_s, worker_id=self.id)
                idle = not batch and self.stop_when_empty and not self.active
                if idle and await self._queues_empty(driver):
                    self.stop(ExitReason.EMPTY)
                    break
            except Exception as exc:
                await self._backend_down(exc)
                continue
            self._failures = 0
            if batch:
                for res in batch:
                    self._start(executor, res)
                # Let them start before the next reserve is built and sent: a job
                # picked up from idle starts that much sooner.
                await asyncio.sleep(0)
                continue
            self._wake.clear()
            # That wait is not cut short by a wake: not while a --stop-when-empty worker
            # waits for its last jobs, to stop as soon as they end.
            draining = self.stop_when_empty and self.active
            if waits is not None and self.max_jobs is None and not draining:
                for res in await self._reserve_waiting(waits, queues, free):
                    self._start(executor, res)
                continue
            waiter = asyncio.create_task(driver.wait(queues, self.sleep_s))
            woken = asyncio.create_task(self._wake.wait())
            await asyncio.wait((waiter, woken), return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            if not waiter.done():
                waiter.cancel()
            elif waiter.exception() is not None:
                await self._backend_down(waiter.exception())

    async def _reserve_waiting(
        self, waits: ReserveWait, queues: list[str], free: int
    ) -> list[Reservation]:
        """Idle wait that leases on wake-up, for drivers that offer it (one round trip
        less between a dispatch and its start). Not cancelled on stop, since a lease taken
        on the server must come back: jobs reserved while stopping or pausing are released
        with their attempt given back."""
        try:
            batch = await waits.reserve_wait(
                queues, free, lease_s=self.lease_s, worker_id=self.id, timeout_s=self.sleep_s
            )
        except Exception as exc:
            await self._backend_down(exc)
            return []
        if batch and (self._stop.is_set() or not self._resume.is_set()):
            assert self._driver is not None
            for res in batch:
                await self._release_unfinished(self._driver, res)
            return []
        return batch

    def _rescued(self, executor: Executor, event: object) -> None:
        if isinstance(event, JobsRescued) and event.failed:
            task = asyncio.create_task(self._settle_rescued(executor, event.failed))
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)

    async def _settle_rescued(self, executor: Executor, job_ids: Sequence[str]) -> None:
        from gello_queue.core.envelope import Envelope
        from gello_queue.core.errors import EnvelopeError
        from gello_queue.orchestration.flow import involved

        assert self._driver is not None
        for job_id in job_ids:
            try:
                failed = await self._driver.failed_find(job_id)
                env = None if failed is None else Envelope.decode(failed.body)
                if env is not None and involved(env):
                    await executor.flow.failed(env)
            except EnvelopeError:
                continue
            except Exception as exc:
                self.log.error("flow_error", id=job_id, error=repr(exc))

    async def _backend_down(self, error: BaseException | None) -> None:
        """Log a backend error and back off (0.1 s doubling to 5 s) before trying again;
        the worker keeps its running jobs and never dies of an outage."""
        self._failures += 1
        delay = min(0.1 * 2 ** (self._failures - 1), 5.0)
        self.log.error("backend_error", error=repr(error), retry_in_s=delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def _queues_empty(self, driver: QueueDriver) -> bool:
        # Empty as Laravel means it: nothing pending, scheduled (retries included) or reserved.
        counts = await driver.counts()
        return all(counts[q].total == 0 for q in self.queues if q in counts)

    def _start(self, executor: Executor, res: Reservation) -> None:
        task = asyncio.create_task(executor.run(res))
        self.active[res.id] = (res, task)
        task.add_done_callback(lambda t, r=res: self._finished(r, t))  # type: ignore[misc]

    def _finished(self, res: Reservation, task: asyncio.Task[Outcome]) -> None:
        if self._lingering and task in self._lingering:
            # Abandoned: its outcome was counted then, and its id may be running again.
            self._lingering.discard(task)
            self._slot_free.set()
            return
        self.active.pop(res.id, None)
        if not task.cancelled():
            error = task.exception()
            if error is not None:
                self.log.error("executor_error", id=res.id, error=repr(error))
            else:
                self.counters.count(res.queue, task.result())
        self._slot_free.set()
        if self.stop_when_empty and not self.active:
            self._wake.set()  # the last running job ended: are the queues empty now?
        if self.max_jobs is not None and self.counters.handled >= self.max_jobs:
            self.stop(ExitReason.MAX_JOBS)

    async def _ack(self, res: Reservation, done: JobProcessed) -> None:
        # Acks are batched: every job that finishes in one loop turn is acked together.
        self._acks.append(res)
        self._done.append(done)
        self._ack_ready.set()

    async def _flush_acks(self, driver: QueueDriver) -> None:
        while True:
            await self._ack_ready.wait()
            await asyncio.sleep(0)
            await self._flush_once(driver)

    async def _flush_once(self, driver: QueueDriver) -> None:
        # One flush at a time: the last one, at stop, waits for one under way instead of
        # finding the lists empty and cancelling it with its task. The backend may have
        # applied that ack already (a --stop-when-empty worker sees its queues empty and
        # stops) while its completions were not yet announced, nor counted.
        async with self._flushing:
            await self._flush_locked(driver)

    async def _flush_locked(self, driver: QueueDriver) -> None:
        self._ack_ready.clear()
        if not self._acks:
            return
        batch, self._acks = self._acks, []
        done, self._done = self._done, []
        try:
            lost = await driver.ack(batch)
        except Exception as exc:
            # Unacked jobs run again after their lease: at-least-once, never lost.
            self.log.error("ack_failed", jobs=len(batch), error=repr(exc))
            return
        assert self._executor is not None
        for event in self._executor.acked(done, lost):
            self.counters.completed(event.queue)

    async def _drain(self) -> None:
        """Let running jobs finish within the grace period (cut short by ``stop_now``),
        then cancel the rest and release them."""
        if not self.active:
            return
        tasks = [task for _, task in self.active.values()]
        self.log.info("worker_draining", jobs=len(tasks), grace_s=self.grace_s)
        if self.grace_s > 0 and not self._hurry.is_set():
            finished = asyncio.ensure_future(asyncio.wait(tasks))
            hurried = asyncio.ensure_future(self._hurry.wait())
            await asyncio.wait(
                (finished, hurried), timeout=self.grace_s, return_when=asyncio.FIRST_COMPLETED
            )
            finished.cancel()
            hurried.cancel()
        held = [(res, task) for res, task in self.active.values() if not task.done()]
        if not held:
            return
        for _, task in held:
            task.cancel()
        # A run that ignores its cancellation is not waited for: it is released anyway.
        await asyncio.wait([task for _, task in held], timeout=ABANDON_AFTER_S)
        assert self._driver is not None
        for res, task in held:
            if not task.done() or task.cancelled():
                await self._release_unfinished(self._driver, res)

    async def _release_unfinished(self, driver: QueueDriver, res: Reservation) -> None:
        from gello_queue.core.envelope import Envelope
        from gello_queue.core.errors import EnvelopeError

        try:
            env = Envelope.decode(res.body)
        except EnvelopeError:
            return  # its lease will expire and the rescuer will fail it as poison
        back = env.with_changes(attempts=max(res.attempts - 1, 0), reason="worker stopped")
        await driver.release(res, back, 0)
        self.events.emit(
            JobReleased(env.id, env.name, env.queue, res.attempts, 0.0, "worker stopped")
        )

    def abandoned(self) -> int:
        """Runs still going that this worker no longer waits for (they ignored their
        cancellation); after ``start()`` returned, they would keep the process alive."""
        tasks = [*self._lingering, *(task for _, task in self.active.values())]
        return sum(not task.done() for task in tasks)

    def abandon_ignored(self) -> None:
        """Stop waiting for runs that ignored their cancellation (a handler swallowing
        ``CancelledError`` at its timeout) for ``ABANDON_AFTER_S``: each is stored as timed
        out and its task abandoned; it keeps its slot until it ends. Called every tick."""
        now = time.monotonic()
        for task in [t for t in self._ignoring if t.done()]:
            del self._ignoring[task]
        if self._stop.is_set() or self._executor is None:
            return  # a stopping worker releases them itself
        for job_id, (res, task) in list(self.active.items()):
            if not task.cancelling():
                continue
            if now - self._ignoring.setdefault(task, now) < ABANDON_AFTER_S:
                continue
            del self.active[job_id], self._ignoring[task]
            self._lingering.add(task)
            self.log.warning("run_abandoned", id=job_id, ignored_cancel_s=ABANDON_AFTER_S)
            settle = asyncio.create_task(self._abandon(self._executor, res))
            self._settling.add(settle)
            settle.add_done_callback(self._settling.discard)

    async def _abandon(self, executor: Executor, res: Reservation) -> None:
        try:
            self.counters.count(res.queue, await executor.abandon(res))
        except Exception as exc:  # its lease then expires, and rescue takes the job back
            self.log.error("executor_error", id=res.id, error=repr(exc))

    def lease_lost(self, job_ids: Sequence[str]) -> None:
        """Cancel local runs whose lease another worker now holds."""
        for job_id in job_ids:
            entry = self.active.get(job_id)
            if entry is not None:
                self.log.warning("lease_lost", id=job_id)
                entry[1].cancel()
