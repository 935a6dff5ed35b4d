"""PostgreSQL driver: ``FOR UPDATE SKIP LOCKED`` leases, ``LISTEN/NOTIFY`` wake-ups.

Every state change is one statement, conditional on the attempt's token, so a stale
worker cannot touch a rescued job and no transaction is held open across round trips.
Times are epoch seconds from the database clock (``now()`` in SQL): workers on machines
with skewed clocks still agree on when a lease ran out. Statements live in
``queries.sql`` and the schema in versioned ``migrations/``; both are rendered for a
configurable schema and table prefix.

Idle workers sleep on a dedicated ``LISTEN`` connection (see ``listener.py``), woken by
the ``pg_notify`` every statement that makes a job runnable sends in its transaction.
With ``listen=False`` (PgBouncer in transaction mode cannot hold a ``LISTEN``) ``wait``
polls instead.

Pushes wait for the WAL flush like any durable commit. Worker-side statements (reserve,
ack, extend, release, fail, rescue, heartbeats) by default do not (``synchronous_commit``
off for their own transaction only): a database crash may forget the last fraction of a
second of them, which makes a job run again, as at-least-once delivery allows, and it
halves their latency. ``durable_worker_commits=True`` makes them wait too.

Pushes run on one connection the driver keeps outside the pool (see ``push.py``), so a
process that dispatches holds the pool, that connection and, once it reserves or waits,
the LISTEN connection.

The URL may carry gello's options, which win over the keyword arguments:
``postgresql://host/db?schema=jobs&table_prefix=app_&listen=false``; other query
parameters go to the server as settings (``&synchronous_commit=off`` relaxes pushes too).

This module keeps the lifecycle and the hot paths (push, reserve, wait, ack and the other
ends of an attempt), each a direct call to the statement that does the work. The rest is
composed: ``connection.Database`` (pool, retries, database clock) and the stores built on
it that the driver inherits (``inspection``, ``failed_store``, ``registry``,
``coordination``, ``batches``, ``results``, ``progress``); the helpers it holds
(``push.Pusher``, ``listener.Listener``, ``vacuum.Vacuum``); ``schema`` (migrations) and
``options`` (URL).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError, DriverUnavailableError
from gello_queue.core.failed_query import fingerprint_of
from gello_queue.core.rescue import LOST_WORKER_REASON
from gello_queue.drivers.common import name_of
from gello_queue.drivers.outage import outage_boundary
from gello_queue.drivers.postgres.batches import Batches
from gello_queue.drivers.postgres.connection import Database
from gello_queue.drivers.postgres.coordination import Coordination
from gello_queue.drivers.postgres.failed_store import FailedStore
from gello_queue.drivers.postgres.history import History
from gello_queue.drivers.postgres.inspection import Inspection
from gello_queue.drivers.postgres.job_queries import JobQueryTable
from gello_queue.drivers.postgres.listener import Listener
from gello_queue.drivers.postgres.options import channel, flag, split_options
from gello_queue.drivers.postgres.progress import ProgressTable
from gello_queue.drivers.postgres.push import COPY_AT, Pusher
from gello_queue.drivers.postgres.registry import Registry
from gello_queue.drivers.postgres.results import Results
from gello_queue.drivers.postgres.schema import migrate_on, read_version
from gello_queue.drivers.postgres.sql import Names, latest_version
from gello_queue.drivers.postgres.vacuum import Vacuum
from gello_queue.ports import Capability, Failure, RescueResult, Reservation

log = structlog.get_logger("gello")

SCHEMA_VERSION = latest_version()

PRIORITIES = (5, 4, 3, 2, 1, 0)
"""Job priorities, highest first (jobs validate 0..5; the table enforces it)."""

_RESCUE_BATCH = 1000


@outage_boundary
class PostgresDriver(
    Inspection,
    JobQueryTable,
    Batches,
    Coordination,
    Registry,
    FailedStore,
    Results,
    ProgressTable,
    History,
    Database,
):
    """The port on PostgreSQL through an asyncpg pool; see the module docstring."""

    name = "postgres"
    capabilities: frozenset[str] = frozenset(Capability)  # every guarantee a database gives

    def __init__(
        self,
        url: str,
        *,
        schema: str = "public",
        table_prefix: str = "gello_",
        listen: bool = True,
        pool_min: int | None = None,
        pool_max: int = 10,
        pool_timeout_s: float = 20.0,
        auto_migrate: bool = False,
        poll_interval_s: float = 0.05,
        connect_timeout_s: float = 10.0,
        command_timeout_s: float | None = 60.0,
        application_name: str = "gello",
        durable_worker_commits: bool = False,
    ) -> None:
        if pool_min is None:
            pool_min = min(2, pool_max)  # two idle, unless the pool is smaller
        if pool_min < 0 or pool_max < 1 or pool_min > pool_max:
            raise ConfigurationError(
                f"PostgreSQL pool size must satisfy 0 <= pool_min <= pool_max and"
                f" pool_max >= 1 (got pool_min={pool_min}, pool_max={pool_max})"
            )
        url, options = split_options(url)
        schema = options.get("schema", schema)
        table_prefix = options.get("table_prefix", table_prefix)
        if "listen" in options:
            listen = flag(options["listen"], "listen")
        if "durable_worker_commits" in options:
            durable_worker_commits = flag(
                options["durable_worker_commits"], "durable_worker_commits"
            )
        names = Names(
            schema,
            table_prefix,
            channel(schema, table_prefix),
            relaxed_commits=not durable_worker_commits,
        )
        super().__init__(
            url,
            names,
            pool_min=pool_min,
            pool_max=pool_max,
            pool_timeout_s=pool_timeout_s,
            connect_timeout_s=connect_timeout_s,
            command_timeout_s=command_timeout_s,
            application_name=application_name,
        )
        self.schema = schema
        self.table_prefix = table_prefix
        self.listen = listen
        self.auto_migrate = auto_migrate
        self.poll_interval_s = poll_interval_s
        self.durable_worker_commits = durable_worker_commits
        self._pushes = self._kept()
        """The driver's own connection for pushes, outside the pool."""
        self._pusher = Pusher(self._pushes, self._q, self.names)
        self._reserves = self._kept()
        """The driver's own connection for reserves: an idle worker's pickup is a
        reserve, and the pool's overhead was a tenth of it."""
        self._listener = Listener(
            self._connect,
            self.names.channel,
            closing=lambda: self._closing,
            skew=lambda: self._skew,
            connect_timeout_s=connect_timeout_s,
        )
        self._slot_cache: dict[tuple[str, ...], tuple[list[str], list[int]]] = {}
        # The history churns as the jobs do: each kept row is trimmed a moment later.
        self._vacuum = Vacuum(
            self._fetch, self._call, self._table("jobs"), self._table("completed")
        )
        self._consuming = False

    async def open(self) -> None:
        if self._pool is not None:
            return
        self._closing = False
        self._pool = await self._create_pool()
        try:
            version = await self.schema_version()
            if version < SCHEMA_VERSION:
                if not self.auto_migrate:
                    raise ConfigurationError(
                        f"database schema is at version {version}, gello needs"
                        f" {SCHEMA_VERSION}: run `gello queue:migrate`"
                    )
                await self.migrate()
            await self.now()
            autovacuum = await self._call(
                lambda con: con.fetchval("SELECT current_setting('autovacuum')::bool")
            )
            self._vacuum.autovacuum(autovacuum)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._closing = True
        await self._vacuum.close()
        await self._listener.stop()
        await self._close_results()
        await self._pushes.close()
        await self._reserves.close()
        self._listener.release()
        await self._close_pool()

    # -- schema ----------------------------------------------------------------------
    async def schema_version(self) -> int:
        """The version of the schema in the database (0 when there is none)."""
        return await self._call(lambda con: read_version(con, self.names))

    async def migrate(self) -> int:
        """Apply the migrations the database lacks; return the schema version.

        Safe to run concurrently (see ``migrate_on``). Without an open pool it
        migrates on a connection of its own.
        """
        if self._pool is None:
            con = await self._connect_once()
            try:
                return await migrate_on(con, self.names)
            finally:
                await con.close()
        async with self.pool.acquire() as con:
            return await migrate_on(con, self.names)

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope], *, connection: Any = None) -> list[str]:
        """Store jobs in one statement (see the port).

        With ``connection`` (an asyncpg connection inside the caller's transaction) the
        jobs are inserted on it: they exist, and workers are notified, only if that
        transaction commits.
        """
        if not envelopes:
            return []
        # The caller's transaction cannot survive a failed statement, so there only the
        # conflict-tolerant statement runs.
        if connection is None and all(e.unique_key is None for e in envelopes):
            try:
                if len(envelopes) >= COPY_AT:
                    await self._pusher.copy(envelopes, time.time() + self._skew)
                else:
                    await self._pusher.plain(envelopes)
                return [e.id for e in envelopes]
            except asyncpg.UniqueViolationError:
                pass  # an id is already stored (a re-sent batch): settle it below
        if any(e.unique_key is not None for e in envelopes):
            return await self._pusher.unique(envelopes, connection)
        pending = list(envelopes)
        holders: dict[str, str] = {}
        for _ in range(5):
            inserted = await self._pusher.insert(pending, connection)
            missing = [e for e in pending if e.id not in inserted]
            if not missing:
                break
            found = await self._pusher.holders(missing, connection)
            holders.update(found)
            # A holder acked between our insert and the look-up leaves the key free.
            pending = [e for e in missing if e.id not in found]
            if not pending:
                break
        else:
            raise DriverUnavailableError(
                "could not settle unique keys after 5 tries: the holders keep completing"
            )
        return [holders.get(e.id, e.id) for e in envelopes]

    # -- consuming -------------------------------------------------------------------
    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        if limit <= 0 or not queues:
            return []
        if not self._consuming:
            self._consuming = True  # a worker's first reserve: once per worker start
            self._vacuum.announce()
        if self._listener.task is None and self.listen:
            await self._listener.start()
        names = tuple(dict.fromkeys(queues))
        self._listener.mark(names)
        slot_queues, slot_priorities = self._slots(names)
        query = self._q["reserve"]
        args = (slot_queues, slot_priorities, limit, float(lease_s), worker_id)
        rows = await self._reserves.run(lambda con: con.fetch(query, *args))
        if not rows and self._vacuum.on:
            self._vacuum.idle()
        if len(rows) > 1:
            order = {q: i for i, q in enumerate(names)}
            rows.sort(key=lambda r: (order[r[1]], -r[6], r[7], r[0]))
        return [Reservation(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def _slots(self, names: tuple[str, ...]) -> tuple[list[str], list[int]]:
        """(queue, priority) pairs in serving order, as the two arrays reserve takes."""
        slots = self._slot_cache.get(names)
        if slots is None:
            slots = (
                [q for q in names for _ in PRIORITIES],
                [p for _ in names for p in PRIORITIES],
            )
            self._slot_cache[names] = slots
        return slots

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        names = tuple(dict.fromkeys(queues))
        listener = self._listener
        if listener.heard(names) or timeout_s <= 0:
            return
        if listener.task is None and self.listen and self._pool is not None:
            # Jobs pushed before the connection listened were not heard: look again.
            await listener.start()
            return
        if listener.connection is not None and self._pool is not None:
            await listener.sleep(names, timeout_s)
            return
        await self._poll(list(names), timeout_s)

    async def _poll(self, queues: list[str], timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        epoch = self._listener.epoch
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._listener.epoch != epoch:
                return
            await asyncio.sleep(min(self.poll_interval_s, remaining))
            if self._pool is None:
                return
            if await self._fetchval("ready", *self._slots(tuple(queues))):
                return

    # -- finishing attempts ----------------------------------------------------------
    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        if not reservations:
            return []
        rows = await self._fetch(
            "ack", [r.id for r in reservations], [r.token for r in reservations]
        )
        self._acked_jobs(len(reservations) - len(rows))
        return [row[0] for row in rows]

    def _acked_jobs(self, count: int) -> None:
        if self._vacuum.on:
            self._vacuum.acked_jobs(count)

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        rows = await self._fetch(
            "release",
            reservation.id,
            reservation.token,
            envelope.attempts,
            float(delay_s),
            envelope.encode().decode(),
        )
        return bool(rows)

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        count = await self._execute(
            "fail",
            reservation.id,
            reservation.token,
            name_of(body),
            body,
            failure.exception,
            failure.message,
            failure.traceback,
            fingerprint_of(name_of(body), failure.exception, failure.message),
        )
        return count == 1

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        if not reservations:
            return []
        rows = await self._fetch(
            "extend", [r.id for r in reservations], [r.token for r in reservations], lease_s
        )
        held = {r[0] for r in rows}
        return [r.id for r in reservations if r.id not in held]

    async def rescue(self) -> RescueResult:
        result = RescueResult()
        while True:
            rows = await self._fetch("rescue", LOST_WORKER_REASON, _RESCUE_BATCH)
            for job_id, failed, holder in rows:
                (result.failed if failed else result.requeued).append(job_id)
                if holder:
                    result.held_by[job_id] = holder
            if len(rows) < _RESCUE_BATCH:
                break
        if self._vacuum.on:
            await self._vacuum.if_due()
        return result

    # -- inspecting and managing -----------------------------------------------------
    def server_warnings(self) -> list[str]:
        """What is wrong with the server's settings, for queue:status and queue:health."""
        return self._vacuum.warnings()
