"""Wake-ups: the ``LISTEN`` connection, delayed-job timers, and the marks that tell a
``wait`` whether it may have missed a job.

Idle workers sleep on a dedicated ``LISTEN`` connection, opened by the first ``reserve`` or
``wait`` (a driver that only pushes never listens); every statement that makes a job
runnable sends ``pg_notify`` in the same transaction, so a worker wakes within a
millisecond of the commit and never for a rolled-back enqueue. A notification's payload
is ``"<due> <queue>"``: a job due later arms a timer instead of waking anyone now. While
the connection is down (or with ``listen=False``) the driver polls instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from gello_queue.drivers.postgres.kept import OPEN_ERRORS

log = structlog.get_logger("gello")

_MAX_TIMERS = 10_000
"""Delayed-job wake-up timers kept at most; beyond that ``wait``'s timeout covers it."""

Stamp = tuple[int, tuple[int, ...]]
"""The wake-up epoch and the notifications seen per queue, at one moment."""


class Listener:
    """The driver's ``LISTEN`` connection and the waiters it wakes."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]],
        channel: str,
        *,
        closing: Callable[[], bool],
        skew: Callable[[], float],
        connect_timeout_s: float,
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._closing = closing
        self._skew = skew
        """Database clock minus local clock, to turn a due time into a local delay."""
        self._connect_timeout_s = connect_timeout_s
        self.connection: Any = None
        """The LISTEN connection while it is up."""
        self.task: asyncio.Task[None] | None = None
        """Holds the connection, from the first ``start`` until ``stop``."""
        self._listening = asyncio.Event()
        self.epoch = 0
        """Bumped when every waiter must look again (wildcard notification, reconnect)."""
        self.notes: dict[str, int] = {}
        """Notifications seen per queue: ``heard`` compares them with ``mark``'s."""
        self._marks: dict[tuple[str, ...], Stamp] = {}
        self._waiters: dict[asyncio.Future[None], frozenset[str]] = {}
        self._timers: dict[tuple[str, int], asyncio.TimerHandle] = {}

    async def start(self) -> None:
        """Open the LISTEN connection, on a consumer's first ``reserve`` or ``wait``.

        A driver that only pushes (a web process dispatching jobs) never listens: it holds
        one connection fewer, and its own notifications are not sent back to it (a
        listening producer received every job it pushed, about an eighth of an awaited
        dispatch). Waits from the first reserve on see every notification, as when the
        connection was opened with the pool.
        """
        if self.task is not None or self._closing():
            return
        task = self.task = asyncio.create_task(self._listen_forever())
        waiter = asyncio.ensure_future(self._listening.wait())
        try:
            await asyncio.wait(
                {waiter, task}, timeout=self._connect_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()

    async def stop(self) -> None:
        """Close the LISTEN connection (the driver is closing)."""
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def release(self) -> None:
        """Drop the pending timers and wake every waiter (the driver has closed)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.wake("")

    def stamp(self, names: tuple[str, ...]) -> Stamp:
        return (self.epoch, tuple(self.notes.get(q, 0) for q in names))

    def mark(self, names: tuple[str, ...]) -> None:
        """Note what has been heard for ``names`` as a reserve on them starts:
        notifications that arrive while its statement runs make the next ``wait`` return
        at once, as the statement may have missed their jobs."""
        self._marks[names] = self.stamp(names)

    def heard(self, names: tuple[str, ...]) -> bool:
        """Whether a notification for ``names`` came since their last reserve (once)."""
        mark = self._marks.get(names)
        stamp = self.stamp(names)
        if mark is not None and mark != stamp:
            self._marks[names] = stamp
            return True
        return False

    async def sleep(self, names: tuple[str, ...], timeout_s: float) -> None:
        """Wait for a wake-up of one of ``names`` for at most ``timeout_s``."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[fut] = frozenset(names)
        try:
            await asyncio.wait({fut}, timeout=timeout_s)
        finally:
            self._waiters.pop(fut, None)
            fut.cancel()

    async def _listen_forever(self) -> None:
        """Hold the LISTEN connection; re-establish it with backoff when it is lost."""
        delay = 0.05
        while not self._closing():
            con: Any = None
            try:
                con = await self._connect()
                lost = asyncio.Event()
                con.add_termination_listener(lambda _con, lost=lost: lost.set())
                await con.add_listener(self._channel, self._on_notify)
                self.connection = con
                self._listening.set()
                # Jobs pushed while we were not listening sent notifications nobody heard.
                self.wake("")
                delay = 0.05
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=15.0)
                    if not lost.is_set():
                        # A half-open TCP connection never reports its loss: probe it.
                        await con.execute("SELECT 1", timeout=5.0)
                if not self._closing():
                    log.warning("postgres_listener_lost", detail="polling until it is back")
            except OPEN_ERRORS as exc:
                log.warning(
                    "postgres_listener_lost", error=type(exc).__name__, detail="polling until back"
                )
            finally:
                self.connection = None
                self._listening.clear()
                if con is not None:
                    con.terminate()
            if self._closing():
                return
            # Waiters switch to polling while the connection is down.
            self.wake("")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _on_notify(self, _con: Any, _pid: int, _channel: str, payload: str) -> None:
        due_text, _, queue = payload.partition(" ")
        try:
            due = float(due_text)
        except ValueError:
            due = 0.0
        delay = due - (time.time() + self._skew())
        if delay <= 0.001:
            self.wake(queue)
            return
        key = (queue, int(due * 100))
        if key in self._timers or len(self._timers) >= _MAX_TIMERS:
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._timer_fired, key)

    def _timer_fired(self, key: tuple[str, int]) -> None:
        self._timers.pop(key, None)
        self.wake(key[0])

    def wake(self, queue: str) -> None:
        """Note that ``queue`` (every queue when empty) may have runnable jobs."""
        if queue:
            self.notes[queue] = self.notes.get(queue, 0) + 1
        else:
            self.epoch += 1
        for fut, names in list(self._waiters.items()):
            if (not queue or queue in names) and not fut.done():
                fut.set_result(None)
