"""One background event loop per process, for code that is not async.

A web server runs plain ``def`` views on a pool of threads, and each of them may call a
``*_blocking`` twin. Were each thread to run its own event loop, each would open its own
driver and connection pool: 40 threads, 40 pools, and a PostgreSQL server out of
connections. So every blocking call of the process runs on this one loop, on a daemon
thread, and shares one driver per ``Queue`` (as ``anyio.from_thread`` and asgiref's
``async_to_sync`` do).

A process that also runs an event loop of its own (an ASGI server: uvicorn runs async
views on one loop and plain ones on threads) would hold two drivers, that loop's and
the portal's. So a blocking call first goes to a loop on which its ``Queue`` already
holds a driver, running in another thread, as asgiref's ``async_to_sync`` goes to the
main loop: the process keeps one pool. Should that loop not take the call up within
``START_WITHIN_S`` (it is blocked, or stopping), the call runs on the portal instead,
and only once: it is claimed by whichever side starts it. Until that loop runs again,
later calls go straight to the portal rather than each waiting for it in turn (an async
function that starts a thread and joins it blocks its loop for as long as the thread
dispatches).

A fork (gunicorn ``--preload``, Celery's prefork pool, ``multiprocessing``) copies the
parent's connections into the child, where using them would interleave two processes'
bytes on one socket. The child therefore starts a loop of its own and every ``Queue``
forgets the drivers it inherited, without closing them: closing would say goodbye on
the parent's connections. They are kept referenced, never used, so no finaliser touches
them either.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol, TypeVar, cast

from gello_queue.core.errors import DriverUnavailableError

T = TypeVar("T")


class PortalUser(Protocol):
    """Something holding connections on the portal (a ``Queue``)."""

    def forget_after_fork(self) -> None:
        """Drop (without closing) every connection inherited from the parent."""

    def close_blocking(self) -> None:
        """Close the connections it holds on the portal."""


class Portal:
    """The process's background loop, started on first use and again after a fork."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running background loop (started now if needed)."""
        with self._lock:
            thread = self._thread
            if self._loop is None or thread is None or not thread.is_alive():
                self._loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=_serve, args=(self._loop, ready), name="gello-portal", daemon=True
                )
                thread.start()
                ready.wait()
                self._thread = thread
            return self._loop

    def submit(self, call: Callable[[], Awaitable[T]]) -> Future[T]:
        """Run ``call()`` on the background loop."""
        return asyncio.run_coroutine_threadsafe(_awaited(call), self.loop())

    def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call()`` on the background loop and wait for its result."""
        return self.submit(call).result()

    def is_portal_loop(self, loop: asyncio.AbstractEventLoop) -> bool:
        return loop is self._loop

    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def after_fork(self) -> None:
        # The thread did not survive the fork; its loop's state is the parent's. Both
        # are left as they are (never run again) and a new pair starts on first use.
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


async def _awaited(call: Callable[[], Awaitable[T]]) -> T:
    return await call()


portal = Portal()
"""The one portal of this process."""

START_WITHIN_S = 2.0
"""How long a blocking call waits for another thread's loop to take it up."""

_POLL_S = 0.5
"""How often a caller waiting on another thread's loop checks that it still runs."""


_stalled: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
"""Loops that did not take up a call in time, and have not run since."""


class _Claim:
    """Who runs a call handed to another thread's loop: that loop, or (once the caller
    gave up waiting for it to start) nobody there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state = "waiting"

    def take(self, state: str) -> bool:
        with self._lock:
            if self.state != "waiting":
                return False
            self.state = state
            return True


def run_on(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[T]]) -> tuple[bool, T]:
    """Run ``call()`` on ``loop``, running in another thread, and wait for its result.

    Returns ``(False, ...)`` without running it when ``loop`` did not start it within
    ``START_WITHIN_S`` or could not take it at all; the caller then runs it elsewhere.

    Raises:
        DriverUnavailableError: ``loop`` stopped while running the call.
    """
    if loop in _stalled:
        return False, cast(T, None)
    claim = _Claim()

    async def claimed() -> tuple[bool, T]:
        if not claim.take("started"):
            return False, cast(T, None)
        return True, await call()

    try:
        future = asyncio.run_coroutine_threadsafe(claimed(), loop)
    except RuntimeError:  # closed since it was looked at
        return False, cast(T, None)
    try:
        return future.result(timeout=START_WITHIN_S)
    except FutureTimeout:
        if claim.take("abandoned"):
            future.cancel()
            _stalled.add(loop)
            try:  # cleared by the loop itself, as soon as it runs again
                loop.call_soon_threadsafe(_stalled.discard, loop)
            except RuntimeError:  # closed meanwhile: nothing to wait for
                _stalled.discard(loop)
            return False, cast(T, None)
    while True:  # started: wait for it while its loop runs
        try:
            return future.result(timeout=_POLL_S)
        except FutureTimeout:
            if not loop.is_running():
                future.cancel()
                raise DriverUnavailableError(
                    "the event loop running this blocking call stopped before it ended"
                ) from None


_holders: weakref.WeakSet[PortalUser] = weakref.WeakSet()
_inherited: list[object] = []


def use_portal(holder: PortalUser) -> None:
    """Have ``holder`` forget its connections in a forked child, and close them at exit."""
    _holders.add(holder)


def keep_unused(*things: object) -> None:
    """Hold what a child inherited from its parent, so that no finaliser closes it."""
    _inherited.extend(things)


def _after_fork_in_child() -> None:
    portal.after_fork()
    for holder in list(_holders):
        holder.forget_after_fork()


def _close_at_exit() -> None:
    # The daemon thread would otherwise be frozen mid-call at exit, its connections
    # dropped without a goodbye and its pending tasks reported as destroyed.
    if not portal.running():
        return
    for holder in list(_holders):
        with contextlib.suppress(Exception):
            holder.close_blocking()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_at_exit)
