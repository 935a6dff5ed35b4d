"""The ``Inspector``'s operational facts: what the backend holds against the retention
limits (``queue:storage``) and the readiness answer (``queue:health``)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from gello_queue.drivers import sqlite_path
from gello_queue.health import backend_down, backend_facts, restart_line
from gello_queue.inspection.base import InspectorBase
from gello_queue.ports import JobHistory, WorkerRecord
from gello_queue.retention import Limits

BATCHES_COUNTED = 1000
"""Batch records counted at most (listing them is the only way the port counts them)."""


@runtime_checkable
class ServerWarnings(Protocol):
    """A driver that knows what is wrong with its server's settings."""

    def server_warnings(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The readiness answer: the backend's facts, live workers and warnings."""

    up: bool
    """Whether the backend answered."""
    body: dict[str, Any]
    """``backend`` (ok, latency, restarts; or the error), and when up ``queues`` and
    ``failedJobs``, as in the ``/readyz`` body."""
    workers: list[WorkerRecord] = field(default_factory=list)
    now: float = 0.0
    """The backend's clock when the workers were read."""
    warnings: list[str] = field(default_factory=list)
    """A noticed server restart first, then the server's settings warnings."""


def database_bytes(url: str) -> int | None:
    """The size of a SQLite database with its write-ahead log; None for a server."""
    if not url.startswith("sqlite:"):
        return None
    path = sqlite_path(url)
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


class Facts(InspectorBase):
    """Storage and health facts."""

    async def storage_facts(self) -> dict[str, Any]:
        """Jobs by state, failed jobs and their age, batch records, completed jobs kept in
        the history (None when the driver keeps none), the retention limits, and the
        database file's bytes (SQLite; None elsewhere)."""
        driver = await self._driver()
        counts = await driver.counts()
        failed = await driver.failed_count()
        oldest = await driver.failed_list(limit=1, offset=max(failed - 1, 0)) if failed else []
        now = await driver.now()
        batches = len(await driver.batch_list(limit=BATCHES_COUNTED))
        completed = await driver.history_counts() if isinstance(driver, JobHistory) else None
        settings = self.queue.settings
        limits = Limits.from_settings(settings)
        facts: dict[str, Any] = {
            "jobs": {
                state: sum(getattr(c, state) for c in counts.values())
                for state in ("pending", "scheduled", "reserved")
            },
            "failed": failed,
            "oldest_failed_age_s": round(now - oldest[0].failed_at, 1) if oldest else None,
            "batches": batches,
            "batches_counted_up_to": BATCHES_COUNTED,
            "completed": None
            if completed is None
            else {"kept": sum(completed.values()), "per_queue": completed},
            "limits": {
                "failed_retention_hours": limits.failed_hours,
                "failed_max": limits.failed_max,
                "batch_retention_hours": limits.batch_hours,
                "completed_max_per_queue": limits.completed_max,
                "completed_retention_hours": limits.completed_hours,
                "completed_payloads": settings.queue_keep_completed_payloads,
                "interval_s": limits.interval_s,
                "summary": limits.describe(),
            },
        }
        facts["bytes"] = database_bytes(self.queue.url)
        return facts

    async def health(self, timeout_s: float = 10) -> HealthReport:
        """Whether the backend answers (within ``timeout_s`` to connect and to report),
        with its facts, the live workers and what is wrong with the server."""
        try:
            driver = await asyncio.wait_for(self._driver(), timeout_s)
            body: dict[str, Any] = await asyncio.wait_for(backend_facts(driver), timeout_s)
            workers = await driver.workers()
            now = await driver.now()
            warnings = await self.server_warnings()
        except Exception as exc:
            return HealthReport(up=False, body={"backend": backend_down(exc)})
        restarts = body["backend"].get("restarts")
        if restarts is not None:
            warnings.insert(0, restart_line(restarts, now))
        return HealthReport(up=True, body=body, workers=workers, now=now, warnings=warnings)

    async def server_warnings(self) -> list[str]:
        """What is wrong with the backend server's settings (PostgreSQL without
        autovacuum), one sentence each; said here and once per worker start, not by
        every command."""
        driver = await self._driver()
        return driver.server_warnings() if isinstance(driver, ServerWarnings) else []
