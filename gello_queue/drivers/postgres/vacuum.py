"""Vacuuming the jobs table (and the completed-job history, which churns as the jobs do)
when the server's autovacuum is off.

Every job row is inserted, updated and deleted within seconds, so without vacuum the
table and its indexes grow without bound and every reserve walks past the dead entries.
On a server with autovacuum off the workers vacuum the jobs table themselves: from
rescue every ``_VACUUM_EVERY_S``, after ``_VACUUM_EVERY_JOBS`` acks of one driver, and
when a reserve comes back empty after ``_VACUUM_IDLE_JOBS`` acks; at most once per
interval across workers, through a claim in the control table.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog

log = structlog.get_logger("gello")

AUTOVACUUM_OFF = (
    "autovacuum is off on the PostgreSQL server: gello vacuums its jobs table itself;"
    " turn autovacuum on"
)

_VACUUM_EVERY_S = 30
_VACUUM_EVERY_JOBS = 20_000
"""Without autovacuum, a driver that acked this many jobs since it last tried asks for a
vacuum sooner than ``_VACUUM_EVERY_S``: at thousands of jobs a second, half a minute of
dead rows makes every reserve walk past them in the ready index."""
_VACUUM_IDLE_JOBS = 1_000
"""Without autovacuum, a driver whose reserve comes back empty after it acked this many
jobs asks for a vacuum then: idle is the cheapest moment, and the next pickup's reserve
no longer walks the burst's dead index entries (measured: 0.45 ms more per reserve after
26,000 jobs)."""
_VACUUM_MIN_S = 5
"""The shortest interval between vacuums that acks ask for (shared by all workers)."""
_VACUUM_CLOSE_WAIT_S = 2.0
"""How long closing waits for a vacuum under way before cancelling it."""

Fetch = Callable[..., Awaitable[list[Any]]]
Call = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


class Vacuum:
    """One driver's share of vacuuming the jobs table (see the module docstring)."""

    def __init__(self, fetch: Fetch, call: Call, *tables: str) -> None:
        self._fetch = fetch
        self._call = call
        self._statement = f"VACUUM (ANALYZE, SKIP_LOCKED) {', '.join(tables)}"
        self.on = False
        """Vacuum the jobs table from rescue, acks and idle reserves: set when the
        server's autovacuum is off, dropped when vacuuming is refused."""
        self.server_off = False
        """Autovacuum is off on the server (warned about, whether or not we may vacuum)."""
        self.acked = 0
        """Jobs acked since this driver last vacuumed (see ``acked_jobs``)."""
        self.task: asyncio.Task[None] | None = None
        self.retry_at = 0.0
        """No vacuum asked for by acks before this ``time.monotonic()``."""

    def autovacuum(self, enabled: bool) -> None:
        """Take the server's autovacuum setting, read when the driver opens."""
        self.on = self.server_off = not enabled

    def announce(self) -> None:
        """Warn that autovacuum is off: said by a consumer when it starts, and by the
        status commands through ``warnings``, not by every command and script that opens."""
        if self.server_off:
            log.warning(
                "postgres_autovacuum_off",
                detail="gello vacuums its jobs table itself; turn autovacuum on",
                every_s=_VACUUM_EVERY_S,
            )

    def warnings(self) -> list[str]:
        return [AUTOVACUUM_OFF] if self.server_off else []

    def acked_jobs(self, count: int) -> None:
        """Count acked jobs (while ``on``); ask for a vacuum after many."""
        self.acked += count
        if self.acked >= _VACUUM_EVERY_JOBS:
            self.soon()

    def idle(self) -> None:
        """A reserve came back empty (while ``on``): ask for a vacuum after a burst."""
        if self.acked >= _VACUUM_IDLE_JOBS:
            self.soon()

    def soon(self) -> None:
        if self.task is None and time.monotonic() >= self.retry_at:
            self.task = asyncio.create_task(self._after_acks())

    async def _after_acks(self) -> None:
        try:
            if not await self.if_due(_VACUUM_MIN_S):
                # Another worker vacuumed within the interval, maybe before most of these
                # acks: ask again a second later rather than after as many jobs again.
                self.retry_at = time.monotonic() + 1.0
        except Exception as exc:  # a background task: the next ack or rescue tries again
            log.warning("postgres_vacuum_failed", error=repr(exc))
        finally:
            self.task = None

    async def if_due(self, interval_s: float = _VACUUM_EVERY_S) -> bool:
        """Vacuum the jobs table if no driver has within ``interval_s``.

        Rescue runs periodically in every worker, and acks ask every
        ``_VACUUM_EVERY_JOBS`` jobs (with ``interval_s`` of ``_VACUUM_MIN_S``); one of
        them wins the claim per interval. Return whether this driver won it.
        """
        if not await self._fetch("claim_vacuum", interval_s):
            return False
        self.acked = 0
        vacuum = self._statement
        try:
            await self._call(lambda con: con.execute(vacuum, timeout=None))
        except asyncpg.PostgresError as exc:  # not the table's owner, most likely
            self.on = False
            log.warning("postgres_vacuum_failed", error=repr(exc), detail="turn autovacuum on")
        return True

    async def close(self) -> None:
        """Let a vacuum under way finish, for a while (the driver is closing)."""
        vacuum, self.task = self.task, None
        if vacuum is not None:
            # One under way (a worker stopping as its queue ran dry) may finish, or the
            # next worker's reserves walk the dead entries it was removing.
            await asyncio.wait({vacuum}, timeout=_VACUUM_CLOSE_WAIT_S)
            vacuum.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await vacuum
