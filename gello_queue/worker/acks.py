"""Batched acks: every job that finishes in one loop turn is acked in one driver call.

A completion is announced (and counted) only once the backend accepted its ack; an ack
that fails leaves the job to run again after its lease (at-least-once, never lost).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from gello_queue.events import JobProcessed
from gello_queue.ports import CompletedJob, QueueDriver, Reservation
from gello_queue.worker.history import HistoryAcks

Accepted = Callable[[Sequence[JobProcessed], Sequence[str]], None]
"""Called with the completions of a flushed batch and the ids the backend refused."""


class AckBatch:
    """The acks waiting for the next flush, and the flushes themselves."""

    def __init__(self, log: Any, accepted: Accepted, *, keep_completed: int = 0) -> None:
        self._log = log
        self._accepted = accepted
        self._keep = keep_completed
        """``QUEUE_KEEP_COMPLETED``: the history each queue keeps (0: none)."""
        self._history = HistoryAcks()
        self._acks: list[Reservation] = []
        self._done: list[JobProcessed] = []
        """What to announce for each of ``_acks`` once the backend accepted it."""
        self._completed: list[CompletedJob] = []
        """History records of ``_acks``, sent with them (none when history is off)."""
        self._ready = asyncio.Event()
        self._flushing = asyncio.Lock()

    async def add(
        self, res: Reservation, done: JobProcessed, completed: CompletedJob | None = None
    ) -> None:
        """The executor's ack: queued for the flush at the end of this loop turn."""
        self._acks.append(res)
        self._done.append(done)
        if completed is not None:
            self._completed.append(completed)
        self._ready.set()

    async def run(self, driver: QueueDriver) -> None:
        """Flush whenever acks wait, until cancelled."""
        while True:
            await self._ready.wait()
            await asyncio.sleep(0)
            await self.flush(driver)

    async def flush(self, driver: QueueDriver) -> None:
        # One flush at a time: the last one, at stop, waits for one under way instead of
        # finding the lists empty and cancelling it with its task. The backend may have
        # applied that ack already (a --stop-when-empty worker sees its queues empty and
        # stops) while its completions were not yet announced, nor counted.
        async with self._flushing:
            await self._flush_locked(driver)

    async def _flush_locked(self, driver: QueueDriver) -> None:
        self._ready.clear()
        if not self._acks:
            return
        batch, self._acks = self._acks, []
        done, self._done = self._done, []
        completed, self._completed = self._completed, []
        try:
            lost = await self._history.ack(driver, batch, completed, self._keep)
        except Exception as exc:
            # Unacked jobs run again after their lease: at-least-once, never lost.
            self._log.error("ack_failed", jobs=len(batch), error=repr(exc))
            return
        self._accepted(done, lost)
