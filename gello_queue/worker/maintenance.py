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
        self.labels: dict[str, str] = {}
        """Worker id -> ``host:pid/name`` of the workers seen at the last two looks: a
        dead worker's heartbeat expires with its leases, so the look before the rescue
        that takes its jobs back is the last to name it."""
        self._last_look: dict[str, str] = {}
        self._unsubscribe: Callable[[], None] | None = None

    async def prime(self) -> None:
        """Read the flags once and announce the worker before the first job."""
        self.restart_seen = await self.driver.restart_signal()
        self.worker.paused_queues = await self.driver.paused()
        await self.beat()
        await self.look_at_workers()
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
        command = await self.driver.worker_command_take(self.worker.id)
        if command is not None:
            self.worker.obey(command)
            await self.beat()  # the operator sees the new state now, not at the next beat
        signal = await self.driver.restart_signal()
        if signal is not None and signal != self.restart_seen:
            self.worker.log.info("restart_signal", worker=self.worker.name)
            self.worker.stop(ExitReason.RESTART)

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
        await self.look_at_workers()
        result = await self.driver.rescue()
        if result.requeued or result.failed:
            self.worker.events.emit(JobsRescued(result.requeued, result.failed))
            await self.record_rescue(result)

    async def look_at_workers(self) -> None:
        """Remember how the live workers are named (see ``labels``)."""
        if self.event_log is None:
            return
        seen = {w.id: w.label for w in await self.driver.workers()}
        self.labels = {**self._last_look, **seen}
        self._last_look = seen

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
                self.labels.get(holder, holder) if holder else "",
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
