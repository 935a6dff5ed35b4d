"""The end-to-end test application (``app_jobs``) plus jobs that raise what ends a
process: ``gello --app app_faults``."""

from __future__ import annotations

from app_jobs import Ledger, Work, record

from gello_queue import Job

__all__ = ["Bail", "Ledger"]


class Bail(Job[Work]):
    """Raises ``KeyboardInterrupt`` (key ``interrupt``) or ``SystemExit(3)`` in ``handle``."""

    tries = 2
    backoff = 0

    async def handle(self, payload: Work) -> None:
        record("start", payload.key)
        if payload.key == "interrupt":
            raise KeyboardInterrupt
        raise SystemExit(3)
