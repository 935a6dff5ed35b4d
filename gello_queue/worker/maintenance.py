"""What a worker does besides running jobs: heartbeat, lease renewal, rescue, limits.

Every running worker rescues expired leases, so a dead worker's jobs come back with no
operator action and no separate process.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gello_queue.core.errors import NotSupportedError
from gello_queue.events import JobsRescued
from gello_queue.ports import (
    EventKind,
    EventLog,
    JobHistory,
    OpsEvent,
    QueueDriver,
    RescueResult,
    TimingStats,
)
from gello_queue.worker.states import ExitReason
from gello_queue.worker.timings import TimingTally

if TYPE_CHECKING:
    from gello_queue.worker.runtime import Worker

TICK_S = 1.0
"""How often pause flags, commands, the restart signal and limits are checked."""
NAME_KEY = "worker-name:"
"""Coordination key prefix under which each worker keeps its ``host:pid/name`` by id."""
NAME_KEPT_S = 86_400.0
"""How long a worker's name outlives its last renewal: as long as events are kept."""
NAME_RENEWED_S = 3600.0
"""How often a running worker renews its kept name."""


class Maintenance:
    """Periodic duties of one worker against its driver."""

    def __init__(self, worker: Worker, driver: QueueDriver) -> None:
        self.worker = worker
        self.driver = driver
        self.restart_seen: float | None = None
        self.beat_every = worker.lease_s / 3
        self.shown: tuple[str, frozenset[str]] | None = None
        """The state and running jobs the last heartbeat stored."""
        self.rescue_every = worker.lease_s / 2
        self.timings = TimingTally()
        self.timing_stats = driver if isinstance(driver, TimingStats) else None
        self.event_log = driver if isinstance(driver, EventLog) else None
        keeps = isinstance(driver, JobHistory) and worker.options.keep_completed > 0
        self.history = driver if keeps and isinstance(driver, JobHistory) else None
        """Where the monitored tags are read, while this worker keeps history."""
        self._named_at: float | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def prime(self) -> None:
        """Read the flags once and announce the worker before the first job."""
        self.restart_seen = await self.driver.restart_signal()
        self.worker.paused_queues = await self.driver.paused()
        await self.read_monitored()
        await self.beat()
        await self.keep_name()
        # Last: a start that failed above leaves no listener behind on the worker's events.
        if self.timing_stats is not None:
            self._unsubscribe = self.worker.events.subscribe(self.timings)

    async def run(self) -> None:
        """Tick until cancelled; a failing backend is logged, never fatal."""
        last_beat = last_rescue = time.monotonic()
        # Spread rescues of many workers started together.
        last_rescue -= random.random() * self.rescue_every
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self.worker.abandon_ignored()
            try:
                await self.check_flags()
                self.check_limits()
                if now - last_beat >= self.beat_every:
                    last_beat = now
                    await self.renew()
                    await self.beat()
                elif self.shown != self.showing():
                    # Busy slots and state as the dashboard shows them: at most a tick
                    # behind the worker, not a third of a lease.
                    await self.beat()
                if now - last_rescue >= self.rescue_every:
                    last_rescue = now
                    await self.rescue()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.worker.log.error("maintenance_error", error=repr(exc))

    async def check_flags(self) -> None:
        """Pick up paused queues, a command left for this worker and a restart signal."""
        self.worker.paused_queues = await self.driver.paused()
        await self.read_monitored()
        command = await self.driver.worker_command_take(self.worker.id)
        if command is not None:
            self.worker.obey(command)
            await self.beat()  # the operator sees the new state now, not at the next beat
        signal = await self.driver.restart_signal()
        if signal is not None and signal != self.restart_seen:
            self.worker.log.info("restart_signal", worker=self.worker.name)
            self.worker.stop(ExitReason.RESTART)

    async def read_monitored(self) -> None:
        """The monitored tags, into the set the executor marks completed jobs by (in
        place: it holds that set)."""
        if self.history is None:
            return
        tags = set(await self.history.tags_monitored())
        if tags != self.worker.monitored_tags:
            self.worker.monitored_tags.clear()
            self.worker.monitored_tags.update(tags)

    def check_limits(self) -> None:
        """Stop at ``--max-time`` or when memory passes ``--memory``."""
        worker = self.worker
        started = worker.started_at
        if worker.max_time_s is not None and started and time.time() - started >= worker.max_time_s:
            worker.stop(ExitReason.MAX_TIME)
        if worker.memory_limit is not None and worker.memory_bytes() > worker.memory_limit:
            worker.log.warning("memory_limit", rss=worker.memory_bytes(), limit=worker.memory_limit)
            worker.stop(ExitReason.MEMORY)

    async def renew(self) -> None:
        """Extend the leases of every running job in one call."""
        held = [res for res, _ in self.worker.active.values()]
        if held:
            lost = await self.driver.extend(held, self.worker.lease_s)
            if lost:
                self.worker.lease_lost(lost)

    def showing(self) -> tuple[str, frozenset[str]]:
        return str(self.worker.state), frozenset(self.worker.active)

    async def beat(self) -> None:
        """Store the heartbeat and flush throughput counters and timings."""
        shown = self.showing()
        await self.driver.worker_beat(self.worker.record(), ttl_s=self.worker.lease_s)
        self.shown = shown
        minute = int(time.time()) // 60 * 60
        per_queue = self.worker.counters.per_queue
        if per_queue:
            counts = {q: (p, f) for q, (p, f) in per_queue.items() if p or f}
            per_queue.clear()
            if counts:
                await self.driver.record_throughput(counts, minute)
        await self.flush_timings(minute)

    async def flush_timings(self, minute: int) -> None:
        """Store the wait and run times counted since the last beat, under ``minute``."""
        rows = self.timings.drain(minute)
        if not rows or self.timing_stats is None:
            return
        try:
            await self.timing_stats.record_timings(rows)
        except NotSupportedError:
            # A wrapper offers the port but its driver has none: stop counting.
            self.worker.log.warning("timings_not_kept", error="the driver keeps no timings")
            self.timing_stats = None
            self.stop_counting()

    def stop_counting(self) -> None:
        """Stop listening for wait and run times (the worker stopped, or they cannot be
        kept)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def rescue(self) -> None:
        """Requeue jobs whose worker stopped renewing their lease, and record in the
        backend whose jobs they were, for operators on any host."""
        await self.keep_name()
        result = await self.driver.rescue()
        if result.requeued or result.failed:
            self.worker.events.emit(JobsRescued(result.requeued, result.failed))
            await self.record_rescue(result)

    async def keep_name(self) -> None:
        """Keep this worker's ``host:pid/name`` by its id in the backend, renewed hourly.

        A dead worker's heartbeat expires with its leases, often before another worker
        (one started to replace it) rescues its jobs: the rescue event still names it.
        """
        if self.event_log is None:
            return
        now = time.monotonic()
        if self._named_at is not None and now - self._named_at < NAME_RENEWED_S:
            return
        await keep_worker_name(self.driver, self.worker.id, self.worker.record().label)
        self._named_at = now

    async def name_of(self, worker_id: str | None) -> str:
        """The kept name of the worker ``worker_id``, else its id ("" when unknown)."""
        if not worker_id:
            return ""
        return await self.driver.lock_owner(NAME_KEY + worker_id) or worker_id

    async def record_rescue(self, result: RescueResult) -> None:
        """One ``OpsEvent`` per worker whose jobs ``result`` took back."""
        if self.event_log is None:
            return
        at = await self.driver.now()
        by = self.worker.record().label
        events = [
            OpsEvent(
                EventKind.RESCUE,
                at,
                await self.name_of(holder),
                tuple(requeued + failed),
                tuple(failed),
                by,
            )
            for holder, (requeued, failed) in result.by_worker().items()
        ]
        try:
            await self.event_log.events_add(events)
        except NotSupportedError:
            # A wrapper offers the port but its driver has none: stop recording.
            self.worker.log.warning("events_not_kept", error="the driver keeps no events")
            self.event_log = None

    async def finish(self) -> None:
        """Final counters, and forget this worker's heartbeat."""
        try:
            await self.beat()
            await self.driver.worker_gone(self.worker.id)
        except Exception as exc:
            self.worker.log.error("maintenance_error", error=repr(exc))
        finally:
            self.stop_counting()


async def keep_worker_name(driver: QueueDriver, worker_id: str, label: str) -> None:
    """Keep ``label`` (``host:pid/name``) as the name of worker ``worker_id`` for
    ``NAME_KEPT_S``, in the backend's shared state, for any process to read by id."""
    await driver.lock_acquire(NAME_KEY + worker_id, label, NAME_KEPT_S)
