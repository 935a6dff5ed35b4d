"""Every backend call of the dashboard runs on a private event loop in one thread.

The UI's loop only awaits futures, so it never blocks on I/O: the SQLite driver runs its
statements on its own loop's thread, and a slow server must not freeze the keyboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gello_queue import Queue
from gello_queue.inspection import Inspector

T = TypeVar("T")

Action = Callable[[Inspector], Awaitable[T]]


class Backend:
    """An ``Inspector`` living on its own event loop thread."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.inspector = Inspector(queue)
        self.calls = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="gello-monitor-io", daemon=True
        )
        self._thread.start()

    async def _run(self, action: Action[T]) -> T:
        self.calls += 1
        return await action(self.inspector)

    async def call(self, action: Action[T]) -> T:
        """Run ``action(inspector)`` on the I/O thread and await its result."""
        future = asyncio.run_coroutine_threadsafe(self._run(action), self._loop)
        return await asyncio.wrap_future(future)

    def call_blocking(self, action: Action[T], timeout_s: float = 30.0) -> T:
        """The same from synchronous code (the command's first read)."""
        return asyncio.run_coroutine_threadsafe(self._run(action), self._loop).result(timeout_s)

    def close(self) -> None:
        """Close the connection and stop the thread."""
        if not self._thread.is_alive():
            return
        # Closing a dead connection may fail; we are leaving anyway.
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.queue.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
