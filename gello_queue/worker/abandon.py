"""Runs that ignore their cancellation: stored as timed out, then left to end alone.

A handler that swallows ``CancelledError`` at its timeout (or at a lost lease) would keep
its job, and its slot, forever. After ``ABANDON_AFTER_S`` its attempt is stored as timed
out (retried, tries permitting) and its task abandoned: it keeps its slot until it ends,
and anything it stores later is refused, since its lease is gone.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gello_queue.ports import Reservation
from gello_queue.worker.executor import ABANDON_AFTER_S, Executor, Outcome
from gello_queue.worker.status import Counters

Active = dict[str, tuple[Reservation, "asyncio.Task[Outcome]"]]
"""A worker's running jobs: id -> (reservation, run)."""


class Abandonment:
    """Watches a worker's running jobs for runs that go on after their cancellation."""

    def __init__(self, active: Active, counters: Counters, log: Any) -> None:
        self._active = active
        self._counters = counters
        self._log = log
        self.ignoring: dict[asyncio.Task[Outcome], float] = {}
        """Runs cancelled but still running, with when that was first seen."""
        self.lingering: set[asyncio.Task[Outcome]] = set()
        """Abandoned runs (outcome stored without them) whose task still runs: each keeps
        its slot until it ends."""
        self._settling: set[asyncio.Task[None]] = set()

    def sweep(self, executor: Executor | None, *, stopping: bool) -> None:
        """Abandon runs that ignored their cancellation for ``ABANDON_AFTER_S``; a
        stopping worker releases them itself."""
        now = time.monotonic()
        for task in [t for t in self.ignoring if t.done()]:
            del self.ignoring[task]
        if stopping or executor is None:
            return
        for job_id, (res, task) in list(self._active.items()):
            if not task.cancelling():
                continue
            if now - self.ignoring.setdefault(task, now) < ABANDON_AFTER_S:
                continue
            del self._active[job_id], self.ignoring[task]
            self.lingering.add(task)
            self._log.warning("run_abandoned", id=job_id, ignored_cancel_s=ABANDON_AFTER_S)
            settle = asyncio.create_task(self._abandon(executor, res))
            self._settling.add(settle)
            settle.add_done_callback(self._settling.discard)

    def still_running(self) -> int:
        """Runs, abandoned or not, whose task has not ended."""
        tasks = [*self.lingering, *(task for _, task in self._active.values())]
        return sum(not task.done() for task in tasks)

    async def _abandon(self, executor: Executor, res: Reservation) -> None:
        try:
            self._counters.count(res.queue, await executor.abandon(res))
        except Exception as exc:  # its lease then expires, and rescue takes the job back
            self._log.error("executor_error", id=res.id, error=repr(exc))
