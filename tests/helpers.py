"""Test helpers: building envelopes and waiting on conditions with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gello_queue.core.envelope import Envelope, new_id

T = TypeVar("T")


def envelope(queue: str = "default", **fields: Any) -> Envelope:
    """A minimal valid envelope, available now."""
    now = time.time()
    base: dict[str, Any] = {
        "id": new_id(),
        "name": "Echo",
        "queue": queue,
        "payload": {"n": 1},
        "max_attempts": 3,
        "available_at": now,
        "created_at": now,
    }
    base.update(fields)
    return Envelope(**base)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool] = bool,
    *,
    timeout_s: float = 10.0,
    every_s: float = 0.02,
) -> T:
    """Await ``probe`` until ``until(result)`` holds; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value: {result!r}")
        await asyncio.sleep(every_s)


def wait_for(check: Callable[[], T], *, timeout_s: float = 30.0, every_s: float = 0.05) -> T:
    """Blocking twin of ``eventually`` for tests that drive subprocesses."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value: {result!r}")
        time.sleep(every_s)
