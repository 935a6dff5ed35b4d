"""SQLite driver: WAL mode, short ``BEGIN IMMEDIATE`` transactions, a busy timeout.

Statements run on the event loop's thread: each is a few microseconds against the WAL,
and the worker batches reservations and acks, so a thread hop would cost more than it
saves. Several worker processes may share one file; the busy timeout makes them queue
for the write lock instead of seeing ``database is locked``. SQLite has no server clock:
leases are judged by the clock of the machine that holds the file, which every process
using it shares.

The statements are in ``queries.sql`` and the schema in ``migrations/`` (see ``sql``).
This module holds the jobs' life (push, reserve, ack, rescue, inspection); the rest of
the port comes from the stores the driver inherits (``failed``, ``workers``,
``coordination``, ``batches``, ``results``, ``progress``, ``history``).
"""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import time
from collections.abc import Sequence

from gello_queue.core.envelope import Envelope
from gello_queue.core.rescue import LOST_WORKER_EXCEPTION, LOST_WORKER_REASON, rescue_fails
from gello_queue.core.states import JobState
from gello_queue.core.unique import UniqueOutcome, unique_outcome
from gello_queue.drivers.common import prefix_bounds, text_of
from gello_queue.drivers.outage import outage_boundary
from gello_queue.drivers.sqlite.batches import BatchStore
from gello_queue.drivers.sqlite.connection import job_row
from gello_queue.drivers.sqlite.coordination import CoordinationStore
from gello_queue.drivers.sqlite.failed import FailedStore
from gello_queue.drivers.sqlite.history import HistoryTable
from gello_queue.drivers.sqlite.job_queries import JobQueryStore
from gello_queue.drivers.sqlite.progress import ProgressTable
from gello_queue.drivers.sqlite.results import ResultTable
from gello_queue.drivers.sqlite.sql import Q
from gello_queue.drivers.sqlite.workers import WorkerStore
from gello_queue.ports import (
    Capability,
    CompletedJob,
    Failure,
    JobRecord,
    QueueCounts,
    RescueResult,
    Reservation,
)

_INSERT_JOB = Q["insert_job"]
_RESERVE = Q["reserve"]
_ACK = Q["ack"]
_DATA_VERSION = Q["data_version"]

_JOB_LISTS = {
    JobState.PENDING: "jobs_pending",
    JobState.SCHEDULED: "jobs_scheduled",
    JobState.RESERVED: "jobs_reserved",
}
"""The statement listing the jobs of each state that lives in the job table."""


class _SomeLost(Exception):
    """An ack batch held a lost lease: its transaction is rolled back to find which.

    The common batch, every lease held, stays one ``executemany``; only a batch that
    deleted fewer rows than it named pays for finding the ids, one statement each."""


@outage_boundary
class SqliteDriver(
    FailedStore,
    JobQueryStore,
    WorkerStore,
    CoordinationStore,
    BatchStore,
    ResultTable,
    ProgressTable,
    HistoryTable,
):
    """The port on one SQLite file; see the module docstring."""

    name = "sqlite"
    capabilities: frozenset[str] = frozenset(Capability)  # every guarantee a database gives

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        plain = [e for e in envelopes if e.unique_key is None]
        with self._write() as tx:
            tx.executemany(_INSERT_JOB, [job_row(e) for e in plain])
            if len(plain) == len(envelopes):
                return [e.id for e in envelopes]
            holders: dict[str, str] = {}
            for env in envelopes:
                if env.unique_key is not None:
                    holders[env.id] = self._push_unique(tx, env)
        return [holders.get(e.id, e.id) for e in envelopes]

    def _push_unique(self, tx: sqlite3.Connection, env: Envelope) -> str:
        row = tx.execute(Q["unique_holder"], (env.unique_key,)).fetchone()
        now = self.clock()
        if row is not None:
            holder, started, until = row
            expired = until is not None and until <= now
            outcome = unique_outcome(
                env.unique_mode, holder_started=bool(started), holder_expired=expired
            )
            if outcome is UniqueOutcome.SUPERSEDE:
                tx.execute(Q["delete_job"], (holder,))
            elif outcome is UniqueOutcome.TAKE:
                tx.execute(Q["unique_drop_key"], (holder,))
            else:
                return str(holder)
        tx.execute(
            Q["insert_unique_job"],
            (
                *job_row(env),
                env.unique_key,
                None if env.unique_for is None else now + env.unique_for,
            ),
        )
        return env.id

    # -- consuming -------------------------------------------------------------------
    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        out: list[Reservation] = []
        token = os.urandom(8).hex()
        with self._write() as tx:
            # Other processes cannot commit inside this transaction: what they commit from
            # here on is what the next wait must not miss.
            (seen,) = tx.execute(_DATA_VERSION).fetchone()
            now = self.clock()
            expires = now + lease_s
            for queue in queues:
                want = limit - len(out)
                if want <= 0:
                    break
                rows = tx.execute(
                    _RESERVE, (token, expires, worker_id, queue, now, want)
                ).fetchall()
                rows.sort(key=lambda r: (-r[3], r[4], r[0]))
                out.extend(Reservation(r[0], queue, token, r[1], r[2], expires) for r in rows)
        self._seen = (int(seen), self._own_writes)
        return out

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        # Commits by other processes bump ``data_version``: a microsecond read, so an
        # idle worker can check often and pick up a new job within a millisecond or two.
        deadline = time.monotonic() + min(timeout_s, self._until_due(queues))
        # From the last reserve, not from now: a job pushed in between (while the worker
        # went from its empty reserve to this wait) must wake it, not wait out the timeout.
        start, self._seen = self._seen or self._version(), None
        interval = 0.0005
        while time.monotonic() < deadline:
            await asyncio.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
            if self._version() != start:
                return
            interval = min(interval * 1.5, 0.004)

    def _until_due(self, queues: Sequence[str]) -> float:
        """Seconds until the first scheduled job of ``queues`` falls due (no write tells a
        waiter that), or infinity."""
        now = self.clock()
        marks = ",".join("?" * len(queues))
        (at,) = self.db.execute(
            "SELECT min(available_at) FROM gello_jobs"
            f" WHERE token IS NULL AND queue IN ({marks}) AND available_at > ?",
            [*queues, now],
        ).fetchone()
        return math.inf if at is None else float(at) - now

    def _version(self) -> tuple[int, int]:
        (version,) = self.db.execute(_DATA_VERSION).fetchone()
        return (int(version), self._own_writes)

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        if not reservations:
            return []
        return self._ack(reservations, (), 0)

    async def ack_recording(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        return self._ack(reservations, completed, keep)

    def _ack(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        """Delete the held jobs and record ``completed`` (but the lost) in one transaction."""
        pairs = [(r.id, r.token) for r in reservations]
        try:
            with self._write() as tx:
                if tx.executemany(_ACK, pairs).rowcount == len(pairs):
                    self._keep_completed(tx, completed, keep)
                    return []
                raise _SomeLost  # rolls the deletes back: redone one by one below
        except _SomeLost:
            pass
        with self._write() as tx:
            lost = [
                job_id for job_id, token in pairs if not tx.execute(_ACK, (job_id, token)).rowcount
            ]
            refused = set(lost)
            self._keep_completed(tx, (c for c in completed if c.id not in refused), keep)
            return lost

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        with self._write() as tx:
            cur = tx.execute(
                Q["release"],
                (
                    envelope.attempts,
                    self.clock() + delay_s,
                    envelope.encode().decode(),
                    reservation.id,
                    reservation.token,
                ),
            )
            return cur.rowcount == 1

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        with self._write() as tx:
            row = tx.execute(Q["take_reserved"], (reservation.id, reservation.token)).fetchone()
            if row is None:
                return False
            self._insert_failed(tx, reservation.id, row[0], body, failure, row[1])
            return True

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        if not reservations:
            return []
        lost: list[str] = []
        with self._write() as tx:
            expires = self.clock() + lease_s
            for res in reservations:
                if tx.execute(Q["extend"], (expires, res.id, res.token)).rowcount == 0:
                    lost.append(res.id)
        return lost

    async def rescue(self) -> RescueResult:
        result = RescueResult()
        with self._write() as tx:
            now = self.clock()
            expired = tx.execute(Q["expired_leases"], (now,)).fetchall()
            for job_id, queue, attempts, max_attempts, body, holder in expired:
                if holder:
                    result.held_by[job_id] = str(holder)
                if rescue_fails(attempts, max_attempts):
                    tx.execute(Q["delete_job"], (job_id,))
                    failure = Failure(LOST_WORKER_EXCEPTION, LOST_WORKER_REASON)
                    self._insert_failed(tx, job_id, queue, text_of(body), failure, attempts)
                    result.failed.append(job_id)
                else:
                    tx.execute(Q["requeue"], (now, job_id))
                    result.requeued.append(job_id)
        return result

    # -- inspecting and managing -----------------------------------------------------
    async def counts(self) -> dict[str, QueueCounts]:
        now = self.clock()
        acc: dict[str, dict[str, float | None]] = {}
        for queue, pending, scheduled, reserved, oldest in self.db.execute(Q["count_jobs"], (now,)):
            acc[queue] = {"pending": pending, "scheduled": scheduled, "reserved": reserved}
            acc[queue]["oldest"] = oldest
        for queue, failed in self.db.execute(Q["count_failed_by_queue"]):
            acc.setdefault(queue, {})["failed"] = failed
        return {
            q: QueueCounts(
                pending=int(r.get("pending") or 0),
                scheduled=int(r.get("scheduled") or 0),
                reserved=int(r.get("reserved") or 0),
                failed=int(r.get("failed") or 0),
                oldest_pending_at=r.get("oldest"),
            )
            for q, r in sorted(acc.items())
        }

    async def queues(self) -> list[str]:
        return [r[0] for r in self.db.execute(Q["queues"]).fetchall()]

    async def clear(self, queue: str) -> int:
        with self._write() as tx:
            return tx.execute(Q["clear"], (queue,)).rowcount

    def _record(self, row: tuple[object, ...], now: float) -> JobRecord:
        job_id, queue, attempts, priority, available_at, created_at, body, by, lease, token = row
        available = float(available_at)  # type: ignore[arg-type]
        if token is not None:
            state = JobState.RESERVED
        else:
            state = JobState.SCHEDULED if available > now else JobState.PENDING
        return JobRecord(
            id=str(job_id),
            queue=str(queue),
            state=state,
            attempts=int(attempts),  # type: ignore[call-overload]
            priority=int(priority),  # type: ignore[call-overload]
            available_at=available,
            created_at=float(created_at),  # type: ignore[arg-type]
            body=str(body),
            reserved_by=None if by is None else str(by),
            lease_expires_at=None if lease is None else float(lease),  # type: ignore[arg-type]
        )

    async def find(self, job_id: str) -> JobRecord | None:
        row = self.db.execute(Q["find_job"], (job_id,)).fetchone()
        return None if row is None else self._record(row, self.clock())

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        name = _JOB_LISTS.get(state)
        if name is None:
            return []
        now = self.clock()
        if queue is not None:
            name += "_in_queue"
        params = {"now": now, "queue": queue, "limit": limit, "offset": offset}
        return [self._record(r, now) for r in self.db.execute(Q[name], params).fetchall()]

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = self.db.execute(Q["job_ids_by_prefix"], (*prefix_bounds(prefix), limit)).fetchall()
        return [r[0] for r in rows]

    async def cancel(self, job_id: str) -> bool:
        with self._write() as tx:
            return tx.execute(Q["cancel"], (job_id,)).rowcount == 1

    async def promote(self, job_id: str) -> bool:
        with self._write() as tx:
            return tx.execute(Q["promote"], (self.clock(), job_id)).rowcount == 1
