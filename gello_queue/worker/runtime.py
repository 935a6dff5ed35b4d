"""The worker: reserve jobs up to the concurrency, run them, keep leases alive.

``Worker.start()`` blocks and processes until ``stop()``. Leases are short and renewed by
one heartbeat for all running jobs, so a long job is never rescued while its worker lives,
and a dead worker's jobs run again within about one lease.

Where things are
----------------
``Worker`` holds the reserve loop and the bookkeeping of each run (its start, its end,
the free slots), so a job costs no await beyond what the loop needs. Beside it::

    acks.py         acks batched per loop turn, announced once the backend accepts them
    stopping.py     the grace period at stop, and releasing the jobs still running
    abandon.py      runs that ignore their cancellation, abandoned after a while
    rescued.py      the chain or batch of a job that rescue failed
    maintenance.py  heartbeat, lease renewal, rescue, pause flags and limits
    status.py       the counters and ``WorkerStatus``
    sizes.py        ``parse_memory`` for ``--memory``
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psutil

from gello_queue.core.dispatcher import default_connection
from gello_queue.core.envelope import new_id
from gello_queue.core.registry import JobRegistry
from gello_queue.core.states import WorkerCommand, WorkerState
from gello_queue.events import Events, JobProcessed, WorkerEvent, log_listener
from gello_queue.observability import get_logger
from gello_queue.ports import QueueDriver, Reservation, ReserveWait, WorkerRecord
from gello_queue.worker.abandon import Abandonment
from gello_queue.worker.acks import AckBatch
from gello_queue.worker.executor import Executor, ExecutorOptions, Outcome
from gello_queue.worker.extension import WorkerExtension, attach_all, defaults_for
from gello_queue.worker.isolation import ProcessPool
from gello_queue.worker.maintenance import Maintenance
from gello_queue.worker.rescued import RescuedFlow
from gello_queue.worker.sizes import parse_memory
from gello_queue.worker.states import ExitReason
from gello_queue.worker.status import Counters, WorkerStatus, record_of, status_of
from gello_queue.worker.stopping import drain, release_unfinished

if TYPE_CHECKING:
    from gello_queue.queue import Queue

__all__ = ["Worker", "WorkerStatus", "parse_memory"]


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
            keep_results_s=settings.queue_keep_results,
            max_result_bytes=settings.queue_max_result_bytes,
            keep_completed=settings.queue_keep_completed,
            keep_completed_payloads=settings.queue_keep_completed_payloads,
            keyring=settings.keyring(),
        )
        self.state = WorkerState.STOPPED
        self.started_at: float | None = None
        self.exit_reason = ExitReason.STOPPED
        self.counters = Counters()
        self.active: dict[str, tuple[Reservation, asyncio.Task[Outcome]]] = {}
        self.paused_queues: set[str] = set()
        self.monitored_tags: set[str] = set()
        """The monitored tags, read with the paused queues (only while history is kept)."""
        self.log = get_logger()
        self.events = events if events is not None else Events([log_listener])
        """Lifecycle events of this worker and its jobs; ``subscribe`` to observe them."""
        self.extensions = None if extensions is None else list(extensions)
        """Attached at ``start()``; ``None`` means what the settings turn on (see
        ``gello_queue.extensions``), ``[]`` none at all."""
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        self._acks = AckBatch(self.log, self._acked, keep_completed=self.options.keep_completed)
        self._executor: Executor | None = None
        self._process = psutil.Process()
        self._driver: QueueDriver | None = None
        self._failures = 0
        self._abandonment = Abandonment(self.active, self.counters, self.log)
        # The loop reads it on every turn: the same set, bound here.
        self._lingering = self._abandonment.lingering
        self._rescued: RescuedFlow | None = None
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

    def quiet(self) -> None:
        """Take no new jobs, let every running one finish (within its own timeout, with
        no grace period cutting it short), then stop."""
        self.grace_s = math.inf
        self.stop(ExitReason.QUIET)

    def obey(self, command: str) -> None:
        """Apply a command an operator left for this worker in the backend."""
        try:
            order = WorkerCommand(command)
        except ValueError:
            self.log.warning(
                "worker_command_unknown",
                command=command[:40],
                detail="ignored; known: " + ", ".join(WorkerCommand),
            )
            return
        self.log.info("worker_command", command=str(order), worker=self.name)
        {
            WorkerCommand.PAUSE: self.pause,
            WorkerCommand.RESUME: self.resume,
            WorkerCommand.QUIET: self.quiet,
            WorkerCommand.STOP: self.stop,
        }[order]()

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
        return status_of(self)

    def memory_bytes(self) -> int:
        """Resident memory of this process."""
        return int(self._process.memory_info().rss)

    def record(self) -> WorkerRecord:
        """The heartbeat stored in the backend."""
        return record_of(self)

    # -- the loop --------------------------------------------------------------------
    async def start(self) -> ExitReason:
        """Process jobs until stopped; return why it stopped.

        The extensions the settings turn on (metrics, health probes, tracing, retention)
        are attached first and stopped last, as ``gello queue:work`` does.
        """
        self.state = WorkerState.STARTING
        try:
            driver = self._driver = await self.connection.driver()
            chosen = defaults_for(self) if self.extensions is None else self.extensions
            stops = attach_all(self, chosen)
        except BaseException:
            self.state = WorkerState.STOPPED
            raise
        try:
            return await self._serve(driver)
        finally:
            for stop in reversed(stops):
                stop()

    async def _serve(self, driver: QueueDriver) -> ExitReason:
        pool = ProcessPool(self.registry, self.concurrency, self.memory_limit)
        executor = self._executor = Executor(
            driver,
            self.registry,
            self.options,
            ack=self._acks.add,
            events=self.events,
            pool=pool,
            worker_name=self.name,
            monitored_tags=self.monitored_tags,
        )
        self.state = WorkerState.RUNNING
        self.started_at = time.time()
        # Jobs failed by rescue (their worker died on the last attempt) still stop their
        # chain and count in their batch.
        self._rescued = RescuedFlow(driver, executor, self.log)
        unsubscribe = self.events.subscribe(self._rescued)
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
            asyncio.create_task(self._acks.run(driver)),
            asyncio.create_task(maintenance.run()),
        ]
        try:
            await self._loop(driver, executor)
            await self._drain()
        finally:
            await self._acks.flush(driver)
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
            batch = await self._unless_paused(batch)
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
        return await self._unless_paused(batch)

    async def _unless_paused(self, batch: list[Reservation]) -> list[Reservation]:
        """``batch``, or nothing when the worker paused or began to stop while the
        reserve was under way (a command or signal then): those leases go back at once,
        with their attempts given back, instead of running on a paused worker."""
        if batch and (self._stop.is_set() or not self._resume.is_set()):
            assert self._driver is not None
            for res in batch:
                await release_unfinished(self._driver, self.events, res)
            return []
        return batch

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

    def _acked(self, done: Sequence[JobProcessed], lost: Sequence[str]) -> None:
        """Announce and count the completions of a flushed ack batch (``AckBatch``)."""
        assert self._executor is not None
        for event in self._executor.acked(done, lost):
            self.counters.completed(event.queue)

    async def _drain(self) -> None:
        """Let running jobs finish within the grace period, then release the rest."""
        assert self._driver is not None
        await drain(
            self.active,
            grace_s=self.grace_s,
            hurry=self._hurry,
            driver=self._driver,
            events=self.events,
            log=self.log,
        )

    def abandoned(self) -> int:
        """Runs still going that this worker no longer waits for (they ignored their
        cancellation); after ``start()`` returned, they would keep the process alive."""
        return self._abandonment.still_running()

    def abandon_ignored(self) -> None:
        """Stop waiting for runs that ignored their cancellation (a handler swallowing
        ``CancelledError`` at its timeout) for ``ABANDON_AFTER_S``: each is stored as timed
        out and its task abandoned; it keeps its slot until it ends. Called every tick."""
        self._abandonment.sweep(self._executor, stopping=self._stop.is_set())

    def lease_lost(self, job_ids: Sequence[str]) -> None:
        """Cancel local runs whose lease another worker now holds."""
        for job_id in job_ids:
            entry = self.active.get(job_id)
            if entry is not None:
                self.log.warning("lease_lost", id=job_id)
                entry[1].cancel()
