"""A running job's progress: how far it is (0..1) and what it is doing, reported from
``handle`` with ``Job.progress`` and stored with the job for ``Queue.status``,
``queue:why`` and the dashboard.

Writes are throttled per attempt, here and nowhere else: at most one every
``THROTTLE_S``. A value reported inside that window is not dropped: it is written when
the window closes (the latest value wins), and whatever is still unwritten when the
attempt ends is written before its outcome is stored. So a tight loop costs the backend
four writes a second, and a poller always ends up seeing the last value reported.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from gello_queue.core.records import Progress

THROTTLE_S = 0.25
"""The shortest time between two progress writes of one attempt."""

KEEP_S = 86400.0
"""How long stored progress lasts after its last write: a day, whatever the job keeps
of its result (a poller reads progress while a job runs; after that, briefly)."""

MAX_MESSAGE_CHARS = 200
"""A longer message is cut to this many characters (the last one an ellipsis)."""


def check_progress(fraction: float, message: str | None) -> tuple[float, str | None]:
    """``fraction`` as a float and ``message`` capped, or the error saying what is wrong.

    Raises:
        ValueError: ``fraction`` is not a number from 0 to 1, or ``message`` not a string.
    """
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, int | float)
        or math.isnan(fraction)
        or not 0.0 <= fraction <= 1.0
    ):
        raise ValueError(f"progress must be a fraction from 0 to 1 (0.4 is 40%), got {fraction!r}")
    if message is None:
        return float(fraction), None
    if not isinstance(message, str):
        raise ValueError(f"a progress message must be a string, got {type(message).__name__}")
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return float(fraction), message


class ProgressSink(Protocol):
    """Where ``Job.progress`` sends a checked value while the job runs."""

    async def report(self, fraction: float, message: str | None) -> None:
        """Take the value from the job's event loop."""

    def report_blocking(self, fraction: float, message: str | None) -> None:
        """Take the value from a thread that is not the event loop's."""


Write = Callable[[Progress], Awaitable[None]]
Listener = Callable[[float, str | None], None]
"""Told of every value reported, before the throttle (``testing.run_job`` records them)."""

DetachedListener = Callable[[str, float, str | None], None]
"""Told of a value reported by a job that no worker runs (``handle`` called directly in
a test), with the job's name: ``testing.fake()`` installs one to record the calls."""

_detached: DetachedListener | None = None


def listen_detached(listener: DetachedListener | None) -> DetachedListener | None:
    """Install ``listener`` for progress reported outside a worker (None: drop such
    values, the default); returns the one it replaces, so a caller can put it back."""
    global _detached
    previous, _detached = _detached, listener
    return previous


def report_detached(job_name: str, fraction: float, message: str | None) -> None:
    """A checked value from a job with no sink: to the installed listener, if any."""
    if _detached is not None:
        _detached(job_name, fraction, message)


class ProgressThrottle:
    """A ``ProgressSink`` writing through ``write`` at most once every ``every_s``.

    Made inside the attempt's event loop; ``close`` writes what is still pending.
    """

    def __init__(
        self,
        write: Write,
        *,
        every_s: float = THROTTLE_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        listener: Listener | None = None,
    ) -> None:
        self._write = write
        self._listener = listener
        self._every_s = every_s
        self._clock = clock
        self._wall = wall
        self._loop = asyncio.get_running_loop()
        self._pending: Progress | None = None
        self._last_write = -math.inf
        self._timer: asyncio.TimerHandle | None = None
        self._trailing: set[asyncio.Task[None]] = set()
        self._lock: asyncio.Lock | None = None
        """Made at the first write: most jobs report nothing, and every attempt has one."""

    async def report(self, fraction: float, message: str | None) -> None:
        if self._listener is not None:
            self._listener(fraction, message)
        self._pending = Progress(fraction, message, self._wall())
        if self._timer is not None:
            return  # the write due at the end of the window takes this value
        wait = self._last_write + self._every_s - self._clock()
        if wait > 0:
            self._timer = self._loop.call_later(wait, self._due)
            return
        await self._flush()

    def report_blocking(self, fraction: float, message: str | None) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError(
                "progress_blocking was called on the job's event loop, which it would block:"
                " use await self.progress(...) in an async def handle"
            )
        asyncio.run_coroutine_threadsafe(self.report(fraction, message), self._loop).result()

    async def close(self) -> None:
        """Write the value still pending, if any (the attempt is ending)."""
        if self._pending is None and not self._trailing:
            return  # the common case, a job that reported nothing: no lock, no await
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._trailing:
            await asyncio.gather(*self._trailing, return_exceptions=True)
        await self._flush()

    def discard(self) -> None:
        """Drop the write still due (the attempt was cancelled: nothing is written for it
        after it ends)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _due(self) -> None:
        self._timer = None
        task = self._loop.create_task(self._flush())
        self._trailing.add(task)
        task.add_done_callback(self._trailing.discard)

    async def _flush(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # writes land in the order they were reported
            value, self._pending = self._pending, None
            if value is None:
                return
            self._last_write = self._clock()
            await self._write(value)
