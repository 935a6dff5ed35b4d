"""SQLite driver: WAL mode, short ``BEGIN IMMEDIATE`` transactions, a busy timeout.

Statements run on the event loop's thread: each is a few microseconds against the WAL,
and the worker batches reservations and acks, so a thread hop would cost more than it
saves. Several worker processes may share one file; the busy timeout makes them queue
for the write lock instead of seeing ``database is locked``. SQLite has no server clock:
leases are judged by the clock of the machine that holds the file, which every process
using it shares.
"""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, replace
from importlib import resources
from pathlib import Path

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import DriverUnavailableError
from gello_queue.core.rescue import LOST_WORKER_EXCEPTION, LOST_WORKER_REASON, rescue_fails
from gello_queue.core.states import JobState
from gello_queue.drivers.common import name_of, prefix_bounds, retry_envelope, seen, text_of
from gello_queue.drivers.outage import outage_boundary, unavailable
from gello_queue.ports import (
    BatchRecord,
    FailedJob,
    Failure,
    JobRecord,
    QueueCounts,
    RescueResult,
    Reservation,
    ThroughputBucket,
    WorkerRecord,
)

SCHEMA_VERSION = 2
_JOB_COLUMNS = (
    "id, queue, attempts, priority, available_at, created_at, body, reserved_by, "
    "lease_expires_at, token"
)
_FAILED_COLUMNS = "id, queue, name, body, exception, message, traceback, failed_at, attempts"
_ACK = "DELETE FROM gello_jobs WHERE id = ? AND token = ?"


_OUTAGES = (
    "SQLITE_BUSY",  # another connection held the write lock past the busy timeout
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",  # a missing directory, a directory, no permission
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_PERM",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
)
"""Result codes (and their extended forms) that say the file cannot be used now, as
opposed to a statement the database refused."""

_HINT = "check that the path is a database file this process may read and write"
_LOCKED_HINT = (
    "another connection held the write lock past the busy timeout: look for a long"
    " transaction on this file"
)


class _SomeLost(Exception):
    """An ack batch held a lost lease: its transaction is rolled back to find which.

    The common batch, every lease held, stays one ``executemany``; only a batch that
    deleted fewer rows than it named pays for finding the ids, one statement each."""


@outage_boundary
class SqliteDriver:
    """The port on one SQLite file; see the module docstring."""

    name = "sqlite"
    capabilities = frozenset(
        {"list_jobs", "priority", "clear", "cancel", "unique_modes", "batch_push"}
    )

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        self.clock = clock
        self._db: sqlite3.Connection | None = None
        self._own_writes = 0
        self._coord_calls = 0
        """Commits by this connection, which ``PRAGMA data_version`` does not count."""

    # -- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        if self._db is not None:
            return
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise DriverUnavailableError(
                    f"SQLite directory {parent} does not exist: create it or set DATABASE_URL"
                )
        db = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        self._db = db
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._migrate(db)
        except BaseException:
            await self.close()
            raise

    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """Applied to every public method by ``outage_boundary``."""
        code = getattr(error, "sqlite_errorname", None)
        if isinstance(error, sqlite3.Error) and code and code.startswith(_OUTAGES):
            locked = code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
            hint = _LOCKED_HINT if locked else _HINT
            return unavailable("the SQLite database", self.path, error, hint=hint)
        return None

    def _migrate(self, db: sqlite3.Connection) -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version >= SCHEMA_VERSION:
            return
        script = resources.files(__package__).joinpath("schema.sql").read_text()
        with self._write() as tx:
            (version,) = tx.execute("PRAGMA user_version").fetchone()
            if version < SCHEMA_VERSION:
                for statement in script.split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise DriverUnavailableError("the SQLite driver is not open: call open() first")
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taking the write lock up front."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._own_writes += 1

    async def now(self) -> float:
        return self.clock()

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        plain = [e for e in envelopes if e.unique_key is None]
        with self._write() as tx:
            tx.executemany(
                "INSERT INTO gello_jobs (id, queue, priority, available_at, created_at,"
                " attempts, max_attempts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [_row(e) for e in plain],
            )
            if len(plain) == len(envelopes):
                return [e.id for e in envelopes]
            holders: dict[str, str] = {}
            for env in envelopes:
                if env.unique_key is not None:
                    holders[env.id] = self._push_unique(tx, env)
        return [holders.get(e.id, e.id) for e in envelopes]

    def _push_unique(self, tx: sqlite3.Connection, env: Envelope) -> str:
        row = tx.execute(
            "SELECT id, token IS NOT NULL, unique_until FROM gello_jobs WHERE unique_key = ?",
            (env.unique_key,),
        ).fetchone()
        now = self.clock()
        if row is not None:
            holder, started, until = row
            expired = until is not None and until <= now
            if env.unique_mode == "debounce" and not started:
                tx.execute("DELETE FROM gello_jobs WHERE id = ?", (holder,))
            elif (
                env.unique_mode == "debounce"
                or expired
                or (env.unique_mode == "processing" and started)
            ):
                tx.execute(
                    "UPDATE gello_jobs SET unique_key = NULL, unique_until = NULL WHERE id = ?",
                    (holder,),
                )
            else:
                return str(holder)
        tx.execute(
            "INSERT INTO gello_jobs (id, queue, priority, available_at, created_at,"
            " attempts, max_attempts, body, unique_key, unique_until)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *_row(env),
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
            now = self.clock()
            expires = now + lease_s
            for queue in queues:
                want = limit - len(out)
                if want <= 0:
                    break
                # Columns come back as what Python can always read, whatever another tool
                # wrote into them (SQLite keeps text in a number column, and bytes that
                # are not UTF-8 in a text one): one such row must not fail its batch. A
                # body that is not an envelope reaches the worker, which fails it.
                rows = tx.execute(
                    "UPDATE gello_jobs SET attempts = CAST(attempts AS INTEGER) + 1, token = ?,"
                    " lease_expires_at = ?, reserved_by = ?"
                    " WHERE id IN (SELECT id FROM gello_jobs WHERE queue = ? AND token IS NULL"
                    " AND available_at <= ? ORDER BY priority DESC, available_at, id LIMIT ?)"
                    " RETURNING id, attempts, CAST(body AS BLOB), CAST(priority AS INTEGER),"
                    " available_at",
                    (token, expires, worker_id, queue, now, want),
                ).fetchall()
                rows.sort(key=lambda r: (-r[3], r[4], r[0]))
                out.extend(Reservation(r[0], queue, token, r[1], r[2], expires) for r in rows)
        return out

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        # Commits by other processes bump ``data_version``: a microsecond read, so an
        # idle worker can check often and pick up a new job within a millisecond or two.
        deadline = time.monotonic() + min(timeout_s, self._until_due(queues))
        start = self._version()
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
        (version,) = self.db.execute("PRAGMA data_version").fetchone()
        return (int(version), self._own_writes)

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        if not reservations:
            return []
        pairs = [(r.id, r.token) for r in reservations]
        try:
            with self._write() as tx:
                if tx.executemany(_ACK, pairs).rowcount == len(pairs):
                    return []
                raise _SomeLost  # rolls the deletes back: redone one by one below
        except _SomeLost:
            pass
        with self._write() as tx:
            return [
                job_id for job_id, token in pairs if not tx.execute(_ACK, (job_id, token)).rowcount
            ]

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        with self._write() as tx:
            cur = tx.execute(
                "UPDATE gello_jobs SET token = NULL, lease_expires_at = NULL, reserved_by = NULL,"
                " attempts = ?, available_at = ?, body = ? WHERE id = ? AND token = ?",
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
            row = tx.execute(
                "DELETE FROM gello_jobs WHERE id = ? AND token = ? RETURNING queue, attempts",
                (reservation.id, reservation.token),
            ).fetchone()
            if row is None:
                return False
            self._insert_failed(tx, reservation.id, row[0], body, failure, row[1])
            return True

    def _insert_failed(
        self,
        tx: sqlite3.Connection,
        job_id: str,
        queue: str,
        body: str,
        failure: Failure,
        attempts: int,
    ) -> None:
        tx.execute(
            f"INSERT OR REPLACE INTO gello_failed_jobs ({_FAILED_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                queue,
                name_of(body),
                body,
                failure.exception,
                failure.message,
                failure.traceback,
                self.clock(),
                attempts,
            ),
        )

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        if not reservations:
            return []
        lost: list[str] = []
        with self._write() as tx:
            expires = self.clock() + lease_s
            for res in reservations:
                cur = tx.execute(
                    "UPDATE gello_jobs SET lease_expires_at = ? WHERE id = ? AND token = ?",
                    (expires, res.id, res.token),
                )
                if cur.rowcount == 0:
                    lost.append(res.id)
        return lost

    async def rescue(self) -> RescueResult:
        result = RescueResult()
        with self._write() as tx:
            now = self.clock()
            # Read as reserve reads (numbers and bytes whatever was written): one
            # malformed row must not stop every lease from being rescued.
            expired = tx.execute(
                "SELECT id, queue, CAST(attempts AS INTEGER), CAST(max_attempts AS INTEGER),"
                " CAST(body AS BLOB) FROM gello_jobs"
                " WHERE token IS NOT NULL AND lease_expires_at <= ?",
                (now,),
            ).fetchall()
            for job_id, queue, attempts, max_attempts, body in expired:
                if rescue_fails(attempts, max_attempts):
                    tx.execute("DELETE FROM gello_jobs WHERE id = ?", (job_id,))
                    failure = Failure(LOST_WORKER_EXCEPTION, LOST_WORKER_REASON)
                    self._insert_failed(tx, job_id, queue, text_of(body), failure, attempts)
                    result.failed.append(job_id)
                else:
                    tx.execute(
                        "UPDATE gello_jobs SET token = NULL, lease_expires_at = NULL,"
                        " reserved_by = NULL, available_at = ? WHERE id = ?",
                        (now, job_id),
                    )
                    result.requeued.append(job_id)
        return result

    # -- inspecting and managing -----------------------------------------------------
    async def counts(self) -> dict[str, QueueCounts]:
        now = self.clock()
        acc: dict[str, dict[str, float | None]] = {}
        for queue, pending, scheduled, reserved, oldest in self.db.execute(
            "SELECT queue,"
            " SUM(token IS NULL AND available_at <= ?1),"
            " SUM(token IS NULL AND available_at > ?1),"
            " SUM(token IS NOT NULL),"
            " MIN(CASE WHEN token IS NULL AND available_at <= ?1 THEN available_at END)"
            " FROM gello_jobs GROUP BY queue",
            (now,),
        ):
            acc[queue] = {"pending": pending, "scheduled": scheduled, "reserved": reserved}
            acc[queue]["oldest"] = oldest
        for queue, failed in self.db.execute(
            "SELECT queue, COUNT(*) FROM gello_failed_jobs GROUP BY queue"
        ):
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
        rows = self.db.execute(
            "SELECT DISTINCT queue FROM gello_jobs UNION SELECT DISTINCT queue FROM"
            " gello_failed_jobs ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    async def clear(self, queue: str) -> int:
        with self._write() as tx:
            cur = tx.execute("DELETE FROM gello_jobs WHERE queue = ? AND token IS NULL", (queue,))
            return cur.rowcount

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
        row = self.db.execute(
            f"SELECT {_JOB_COLUMNS} FROM gello_jobs WHERE id = ?", (job_id,)
        ).fetchone()
        return None if row is None else self._record(row, self.clock())

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        now = self.clock()
        where = {
            JobState.PENDING: "token IS NULL AND available_at <= ?",
            JobState.SCHEDULED: "token IS NULL AND available_at > ?",
            JobState.RESERVED: "token IS NOT NULL AND ? IS NOT NULL",
        }.get(state)
        if where is None:
            return []
        params: list[object] = [now]
        if queue is not None:
            where += " AND queue = ?"
            params.append(queue)
        rows = self.db.execute(
            f"SELECT {_JOB_COLUMNS} FROM gello_jobs WHERE {where}"
            " ORDER BY available_at, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [self._record(r, now) for r in rows]

    async def cancel(self, job_id: str) -> bool:
        with self._write() as tx:
            cur = tx.execute("DELETE FROM gello_jobs WHERE id = ? AND token IS NULL", (job_id,))
            return cur.rowcount == 1

    async def promote(self, job_id: str) -> bool:
        with self._write() as tx:
            now = self.clock()
            cur = tx.execute(
                "UPDATE gello_jobs SET available_at = ? WHERE id = ? AND token IS NULL"
                " AND available_at > ?",
                (now, job_id, now),
            )
            return cur.rowcount == 1

    # -- the failed store ------------------------------------------------------------
    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        where, params = ("WHERE queue = ?", [queue]) if queue is not None else ("", [])
        rows = self.db.execute(
            f"SELECT {_FAILED_COLUMNS} FROM gello_failed_jobs {where}"
            " ORDER BY failed_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [FailedJob(*r) for r in rows]

    async def failed_count(self, queue: str | None = None) -> int:
        if queue is None:
            row = self.db.execute("SELECT COUNT(*) FROM gello_failed_jobs").fetchone()
        else:
            row = self.db.execute(
                "SELECT COUNT(*) FROM gello_failed_jobs WHERE queue = ?", (queue,)
            ).fetchone()
        return int(row[0])

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = self.db.execute(
            "SELECT id FROM gello_failed_jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (*prefix_bounds(prefix), limit),
        ).fetchall()
        return [r[0] for r in rows]

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = self.db.execute(
            "SELECT id FROM gello_jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (*prefix_bounds(prefix), limit),
        ).fetchall()
        return [r[0] for r in rows]

    async def failed_find(self, job_id: str) -> FailedJob | None:
        row = self.db.execute(
            f"SELECT {_FAILED_COLUMNS} FROM gello_failed_jobs WHERE id = ?", (job_id,)
        ).fetchone()
        return None if row is None else FailedJob(*row)

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        done = 0
        with self._write() as tx:
            now = self.clock()
            for job_id in job_ids:
                row = tx.execute(
                    f"DELETE FROM gello_failed_jobs WHERE id = ? RETURNING {_FAILED_COLUMNS}",
                    (job_id,),
                ).fetchone()
                if row is None:
                    continue
                failed = FailedJob(*row)
                env = retry_envelope(failed, now)
                tx.execute(
                    "INSERT OR REPLACE INTO gello_jobs (id, queue, priority, available_at,"
                    " created_at, attempts, max_attempts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    _row(env) if env else (job_id, failed.queue, 0, now, now, 0, 1, failed.body),
                )
                done += 1
        return done

    async def failed_retry_all(self, queue: str | None = None) -> int:
        ids = [f.id for f in await self.failed_list(queue=queue, limit=-1)]
        return await self.failed_retry(ids)

    async def failed_forget(self, job_id: str) -> bool:
        with self._write() as tx:
            cur = tx.execute("DELETE FROM gello_failed_jobs WHERE id = ?", (job_id,))
            return cur.rowcount == 1

    async def failed_flush(self, queue: str | None = None) -> int:
        with self._write() as tx:
            if queue is None:
                cur = tx.execute("DELETE FROM gello_failed_jobs")
            else:
                cur = tx.execute("DELETE FROM gello_failed_jobs WHERE queue = ?", (queue,))
            return cur.rowcount

    async def failed_prune(self, before: float) -> int:
        with self._write() as tx:
            cur = tx.execute("DELETE FROM gello_failed_jobs WHERE failed_at < ?", (before,))
            return cur.rowcount

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        if not records:
            return 0
        with self._write() as tx:
            cur = tx.executemany(
                f"INSERT OR IGNORE INTO gello_failed_jobs ({_FAILED_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [astuple(r) for r in records],  # the fields in _FAILED_COLUMNS order
            )
            return cur.rowcount

    # -- workers and control ---------------------------------------------------------
    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        now = self.clock()
        with self._write() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO gello_workers (id, record, last_seen, ttl)"
                " VALUES (?, ?, ?, ?)",
                (record.id, seen(record, now).to_json().decode(), now, ttl_s),
            )
            # Forget workers that died without saying so, so the table stays small.
            tx.execute("DELETE FROM gello_workers WHERE last_seen + ttl * 10 < ?", (now,))

    async def worker_gone(self, worker_id: str) -> None:
        with self._write() as tx:
            tx.execute("DELETE FROM gello_workers WHERE id = ?", (worker_id,))

    async def workers(self) -> list[WorkerRecord]:
        rows = self.db.execute(
            "SELECT record FROM gello_workers WHERE last_seen + ttl >= ? ORDER BY id",
            (self.clock(),),
        ).fetchall()
        return [WorkerRecord.from_json(r[0]) for r in rows]

    async def pause(self, queue: str) -> None:
        with self._write() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO gello_control (key, value) VALUES (?, ?)",
                (f"paused:{queue}", self.clock()),
            )

    async def resume(self, queue: str) -> None:
        with self._write() as tx:
            tx.execute("DELETE FROM gello_control WHERE key = ?", (f"paused:{queue}",))

    async def paused(self) -> set[str]:
        rows = self.db.execute(
            "SELECT substr(key, 8) FROM gello_control WHERE key LIKE 'paused:%'"
        ).fetchall()
        return {r[0] for r in rows}

    async def signal_restart(self) -> float:
        now = self.clock()
        with self._write() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO gello_control (key, value) VALUES ('restart', ?)", (now,)
            )
        return now

    async def restart_signal(self) -> float | None:
        row = self.db.execute("SELECT value FROM gello_control WHERE key = 'restart'").fetchone()
        return None if row is None else float(row[0])

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        with self._write() as tx:
            tx.executemany(
                "INSERT INTO gello_throughput (minute, queue, processed, failed)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (minute, queue) DO UPDATE SET"
                " processed = processed + excluded.processed, failed = failed + excluded.failed",
                [(minute, q, p, f) for q, (p, f) in counts.items()],
            )
            # Buckets older than a day are of no use to status or the dashboard.
            tx.execute("DELETE FROM gello_throughput WHERE minute < ?", (minute - 86400,))

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        rows = self.db.execute(
            "SELECT minute, queue, processed, failed FROM gello_throughput WHERE minute >= ?"
            " ORDER BY minute, queue",
            (since,),
        ).fetchall()
        return [ThroughputBucket(*r) for r in rows]

    # -- coordination ----------------------------------------------------------------
    def _sweep(self, tx: sqlite3.Connection, now: float) -> None:
        # Expired entries are dead weight: drop a few now and then, off the index.
        self._coord_calls += 1
        if self._coord_calls % 500 == 0:
            tx.execute(
                "DELETE FROM gello_coordination WHERE key IN (SELECT key FROM"
                " gello_coordination WHERE expires_at <= ? LIMIT 1000)",
                (now,),
            )

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        with self._write() as tx:
            now = self.clock()
            self._sweep(tx, now)
            (value,) = tx.execute(
                "INSERT INTO gello_coordination (key, value, expires_at) VALUES (?1, ?2, ?3 + ?4)"
                " ON CONFLICT (key) DO UPDATE SET"
                " value = CASE WHEN expires_at <= ?3 THEN ?2 ELSE value + ?2 END,"
                " expires_at = CASE WHEN expires_at <= ?3 THEN ?3 + ?4 ELSE expires_at END"
                " RETURNING value",
                ("c:" + key, by, now, ttl_s),
            ).fetchone()
            return int(value)

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        with self._write() as tx:
            now = self.clock()
            self._sweep(tx, now)
            row = tx.execute(
                "INSERT INTO gello_coordination (key, owner, expires_at) VALUES (?1, ?2, ?3 + ?4)"
                " ON CONFLICT (key) DO UPDATE SET owner = ?2, expires_at = ?3 + ?4"
                " WHERE owner = ?2 OR expires_at <= ?3 RETURNING owner",
                ("l:" + key, owner, now, ttl_s),
            ).fetchone()
            return row is not None

    async def lock_release(self, key: str, owner: str) -> bool:
        with self._write() as tx:
            cur = tx.execute(
                "DELETE FROM gello_coordination WHERE key = ? AND owner = ? AND expires_at > ?",
                ("l:" + key, owner, self.clock()),
            )
            return cur.rowcount == 1

    async def lock_owner(self, key: str) -> str | None:
        row = self.db.execute(
            "SELECT owner FROM gello_coordination WHERE key = ? AND expires_at > ?",
            ("l:" + key, self.clock()),
        ).fetchone()
        return None if row is None else str(row[0])

    # -- batches ---------------------------------------------------------------------
    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        with self._write() as tx:
            tx.execute(
                "INSERT INTO gello_batches (id, name, total, created_at, options)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " total = total + excluded.total",
                (record.id, record.name, record.total, self.clock(), record.options),
            )
            tx.executemany(
                "INSERT INTO gello_jobs (id, queue, priority, available_at, created_at,"
                " attempts, max_attempts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [_row(e) for e in envelopes],
            )
        return [e.id for e in envelopes]

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        with self._write() as tx:
            if (
                tx.execute("SELECT 1 FROM gello_batches WHERE id = ?", (batch_id,)).fetchone()
                is None
            ):
                return None
            prev = tx.execute(
                "SELECT failed FROM gello_batch_jobs WHERE batch_id = ? AND job_id = ?",
                (batch_id, job_id),
            ).fetchone()
            if prev is None:
                tx.execute(
                    "INSERT INTO gello_batch_jobs (batch_id, job_id, failed) VALUES (?, ?, ?)",
                    (batch_id, job_id, int(failed)),
                )
                column = "failed" if failed else "processed"
                tx.execute(
                    f"UPDATE gello_batches SET {column} = {column} + 1 WHERE id = ?", (batch_id,)
                )
            elif prev[0] and not failed:
                tx.execute(
                    "UPDATE gello_batch_jobs SET failed = 0 WHERE batch_id = ? AND job_id = ?",
                    (batch_id, job_id),
                )
                tx.execute(
                    "UPDATE gello_batches SET failed = failed - 1, processed = processed + 1"
                    " WHERE id = ?",
                    (batch_id,),
                )
            row = tx.execute(
                f"UPDATE gello_batches SET finished_at = coalesce(finished_at, CASE WHEN"
                f" processed + failed >= total THEN ? END) WHERE id = ? RETURNING {_BATCH_COLUMNS}",
                (self.clock(), batch_id),
            ).fetchone()
            return _batch(row)

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        row = self.db.execute(
            f"SELECT {_BATCH_COLUMNS} FROM gello_batches WHERE id = ?", (batch_id,)
        ).fetchone()
        if row is None or not with_failed:
            return None if row is None else _batch(row)
        failed = self.db.execute(
            "SELECT job_id FROM gello_batch_jobs WHERE batch_id = ? AND failed ORDER BY job_id",
            (batch_id,),
        ).fetchall()
        return replace(_batch(row), failed_ids=tuple(r[0] for r in failed))

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        rows = self.db.execute(
            f"SELECT {_BATCH_COLUMNS} FROM gello_batches ORDER BY created_at DESC, id DESC"
            " LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return [_batch(r) for r in rows]

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        with self._write() as tx:
            cur = tx.execute(
                "UPDATE gello_batches SET cancelled_at = CASE WHEN ? THEN"
                " coalesce(cancelled_at, ?) END WHERE id = ?",
                (int(cancelled), self.clock(), batch_id),
            )
            return cur.rowcount == 1

    async def batch_prune(self, before: float) -> int:
        with self._write() as tx:
            doomed = [
                r[0]
                for r in tx.execute(
                    # Created before it ended: the created_at index bounds the scan.
                    "SELECT id FROM gello_batches WHERE created_at < ?1"
                    " AND (finished_at < ?1 OR cancelled_at < ?1)",
                    (before,),
                ).fetchall()
            ]
            for batch_id in doomed:
                tx.execute("DELETE FROM gello_batch_jobs WHERE batch_id = ?", (batch_id,))
                tx.execute("DELETE FROM gello_batches WHERE id = ?", (batch_id,))
            return len(doomed)


def _row(env: Envelope) -> tuple[object, ...]:
    return (
        env.id,
        env.queue,
        env.priority,
        env.available_at,
        env.created_at,
        env.attempts,
        env.max_attempts,
        env.encode().decode(),
    )


_BATCH_COLUMNS = (
    "id, name, total, processed, failed, created_at, finished_at, cancelled_at, options"
)


def _batch(row: tuple[object, ...]) -> BatchRecord:
    bid, name, total, processed, failed, created, finished, cancelled, options = row
    return BatchRecord(
        id=str(bid),
        name=str(name),
        total=int(total),  # type: ignore[call-overload]
        processed=int(processed),  # type: ignore[call-overload]
        failed=int(failed),  # type: ignore[call-overload]
        created_at=float(created),  # type: ignore[arg-type]
        finished_at=None if finished is None else float(finished),  # type: ignore[arg-type]
        cancelled_at=None if cancelled is None else float(cancelled),  # type: ignore[arg-type]
        options=str(options),
    )
