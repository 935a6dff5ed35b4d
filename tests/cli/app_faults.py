"""The end-to-end test application (``app_jobs``) plus jobs that raise what ends a
process: ``gello --app app_faults``."""

from __future__ import annotations

import asyncio
import contextlib
import time

from app_jobs import Ledger, Work, record

from gello_queue import Job

__all__ = ["Bail", "Deaf", "Ledger"]


class Bail(Job[Work]):
    """Raises ``KeyboardInterrupt`` (key ``interrupt``) or ``SystemExit(3)`` in ``handle``."""

    tries = 2
    backoff = 0

    async def handle(self, payload: Work) -> None:
        record("start", payload.key)
        if payload.key == "interrupt":
            raise KeyboardInterrupt
        raise SystemExit(3)


class Deaf(Job[Work]):
    """Swallows every cancellation for ``seconds``, then records that it ended."""

    async def handle(self, payload: Work) -> None:
        record("start", payload.key)
        ends = time.monotonic() + payload.seconds
        while time.monotonic() < ends:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(ends - time.monotonic())
        record("done", payload.key)
