"""Bounded storage: failed jobs are pruned by age and by count, batch records by age once
finished or cancelled, and the completed-job history by age (and by count, which its ack
keeps loosely), by every worker.

Done with port calls only (``failed_prune``, ``failed_count``, ``failed_list``,
``failed_forget``, ``batch_prune``, ``history_prune``, ``history_trim``), so it works
the same on every driver. Pruning by
count first deletes everything older than the newest ``max_failed`` in one
``failed_prune`` call, then forgets the few that share the boundary's timestamp one by
one. Several workers running it at once is harmless: every step is idempotent.

Other stores are bounded by the drivers themselves: heartbeats expire with their ttl, and
throughput and timing buckets older than a day are deleted as new ones are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gello_queue.ports import JobHistory, QueueDriver
from gello_queue.worker.extension import while_running

if TYPE_CHECKING:
    from gello_queue.settings import Settings
    from gello_queue.worker.runtime import Worker

FORGET_PAGE = 500
"""Failed jobs forgotten one by one per pass at most (ties at the count boundary)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of the failed store and of the batch records is kept; 0 disables a limit."""

    failed_hours: float = 168.0
    failed_max: int = 10000
    interval_s: float = 60.0
    batch_hours: float = 24.0
    """Hours a batch record is kept after it finished or was cancelled."""
    completed_hours: float = 24.0
    """Hours a completed job stays in the history."""
    completed_max: int = 0
    """Completed jobs kept per queue; the ack trims to it at once or now and then, and a
    pass makes it exact."""
    monitored_hours: float = 168.0
    """Hours a completed job that carried a monitored tag is kept: by age only, the count
    trims spare it (and never less than ``completed_hours``)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            failed_hours=settings.queue_failed_retention_hours,
            failed_max=settings.queue_failed_max,
            interval_s=settings.queue_retention_interval,
            batch_hours=settings.queue_batch_retention_hours,
            completed_hours=settings.queue_keep_completed_hours,
            completed_max=settings.queue_keep_completed,
            monitored_hours=settings.queue_keep_monitored_hours,
        )

    @property
    def active(self) -> bool:
        """Whether any limit is on."""
        return bool(
            self.failed_hours
            or self.failed_max
            or self.batch_hours
            or self.completed_hours
            or self.completed_max
        )

    def describe(self) -> str:
        age = f"{self.failed_hours:g} h" if self.failed_hours else "forever"
        count = f"the newest {self.failed_max}" if self.failed_max else "no count cap"
        done = "no completed-job history"
        if self.completed_max:
            hours = f"{self.completed_hours:g} h" if self.completed_hours else "forever"
            done = f"completed jobs: the newest {self.completed_max} per queue, kept {hours}"
            kept = max(self.monitored_hours, self.completed_hours)
            done += f" (monitored tags' jobs: {kept:g} h)" if self.monitored_hours else ""
        return f"failed jobs kept {age}, {count}; finished batches kept {self.batch_age()}; {done}"

    def batch_age(self) -> str:
        return f"{self.batch_hours:g} h" if self.batch_hours else "forever"


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one retention pass deleted."""

    by_age: int = 0
    by_count: int = 0
    batches: int = 0
    completed: int = 0
    """Completed jobs deleted from the history, by age and by count."""


async def enforce(driver: QueueDriver, limits: Limits) -> Pruned:
    """Delete failed jobs and batch records beyond ``limits``; return how many went."""
    by_age = batches = 0
    if limits.failed_hours or limits.batch_hours:
        now = await driver.now()
        if limits.failed_hours:
            by_age = await driver.failed_prune(now - limits.failed_hours * 3600)
        if limits.batch_hours:
            batches = await driver.batch_prune(now - limits.batch_hours * 3600)
    by_count = 0
    if limits.failed_max:
        excess = await driver.failed_count() - limits.failed_max
        if excess > 0:
            boundary = await driver.failed_list(limit=1, offset=limits.failed_max)
            if boundary:
                by_count += await driver.failed_prune(boundary[0].failed_at)
            excess = await driver.failed_count() - limits.failed_max
            if excess > 0:
                rest = await driver.failed_list(
                    limit=min(excess, FORGET_PAGE), offset=limits.failed_max
                )
                for job in rest:
                    by_count += bool(await driver.failed_forget(job.id))
    return Pruned(by_age, by_count, batches, await _history(driver, limits))


async def _history(driver: QueueDriver, limits: Limits) -> int:
    """Delete completed jobs past the history's age and count limits; return how many."""
    if not isinstance(driver, JobHistory):
        return 0
    pruned = 0
    if limits.completed_hours or limits.monitored_hours:
        now = await driver.now()
        before = now - limits.completed_hours * 3600 if limits.completed_hours else -math.inf
        monitored_hours = max(limits.monitored_hours, limits.completed_hours)
        monitored_before = now - monitored_hours * 3600 if monitored_hours else -math.inf
        pruned += await driver.history_prune(before, monitored_before=monitored_before)
    if limits.completed_max:
        pruned += await driver.history_trim(limits.completed_max)
    return pruned


class Retention:
    """Runs ``enforce`` every ``limits.interval_s`` while a worker runs."""

    def __init__(self, worker: Worker, limits: Limits) -> None:
        self.worker = worker
        self.limits = limits
        self.passes = 0
        self.pruned = 0
        """Failed jobs pruned so far."""
        self.pruned_batches = 0

    def attach(self) -> Retention:
        while_running(self.worker, self._run)
        return self

    async def _run(self) -> None:
        driver = await self.worker.connection.driver()
        # Spread the passes of workers started together.
        await asyncio.sleep(random.random() * min(self.limits.interval_s, 5.0))
        while True:
            started = time.monotonic()
            with contextlib.suppress(Exception):  # an outage is the worker's to report
                pruned = await enforce(driver, self.limits)
                self.passes += 1
                if pruned.by_age or pruned.by_count or pruned.batches or pruned.completed:
                    self.pruned += pruned.by_age + pruned.by_count
                    self.pruned_batches += pruned.batches
                    self.worker.log.info(
                        "retention_pruned",
                        by_age=pruned.by_age,
                        by_count=pruned.by_count,
                        batches=pruned.batches,
                        completed=pruned.completed,
                    )
            await asyncio.sleep(max(self.limits.interval_s - (time.monotonic() - started), 0))


def for_worker(worker: Worker) -> Retention | None:
    """Retention for ``worker`` from its connection's settings (None when all are off)."""
    limits = Limits.from_settings(worker.connection.settings)
    if not limits.active:
        return None
    return Retention(worker, limits).attach()
