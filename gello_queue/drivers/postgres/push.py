"""Storing pushed jobs: one scalar ``INSERT``, ``INSERT … unnest``, ``COPY`` in chunks, and
the conflict-tolerant statements for unique keys and re-sent batches.

Pushes run on one connection the driver keeps outside the pool (opened by the first
push; concurrent pushes use the pool). A single job is one scalar ``INSERT`` with its
``pg_notify``; 2 to 499 jobs one ``INSERT … unnest``; more, in one transaction, ``COPY``
statements of 250 rows (each written before the next chunk is built, so the server stores
one while the client builds the next) and the notifications. Which of them a push takes
is decided by ``PostgresDriver.push``; this module runs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.postgres.kept import KeptConnection
from gello_queue.drivers.postgres.sql import Names

COPY_AT = 500
"""Pushes of at least this many jobs (without unique keys) use COPY."""
COPY_CHUNK = 250
"""Rows per COPY statement inside one push's transaction (see ``Pusher.copy``)."""
_COPY_COLUMNS = (
    "id",
    "queue",
    "name",
    "priority",
    "available_at",
    "created_at",
    "attempts",
    "max_attempts",
    "body",
)


class Pusher:
    """The push statements, run on the driver's kept push connection or on the caller's
    (an asyncpg connection inside the caller's transaction)."""

    def __init__(self, kept: KeptConnection, queries: dict[str, str], names: Names) -> None:
        self._pushes = kept
        self._q = queries
        self._names = names

    async def unique(self, envelopes: Sequence[Envelope], connection: Any) -> list[str]:
        """Pushes with unique keys go through one server-side function (migrations 2 and 3):
        holder look-up, debounce and lock expiry in the push's own transaction."""
        columns, _ = job_columns(envelopes)
        columns += (
            [e.unique_key for e in envelopes],
            [e.unique_mode for e in envelopes],
            [e.unique_for for e in envelopes],
        )
        query = self._q["push_unique"]
        if connection is not None:
            rows = await connection.fetch(query, *columns)
        else:
            rows = await self._pushes.run(lambda con: con.fetch(query, *columns))
        return [str(r[1]) for r in rows]

    async def plain(self, envelopes: Sequence[Envelope]) -> None:
        """Insert jobs without unique keys: one scalar ``INSERT`` or ``INSERT … unnest``."""
        if len(envelopes) == 1:
            env = envelopes[0]
            at = 0.0 if env.available_at <= env.created_at else env.available_at
            one = (
                env.id,
                env.queue,
                env.name,
                env.priority,
                env.available_at,
                env.created_at,
                env.attempts,
                env.max_attempts,
                env.encode().decode(),
                f"{at!r} {env.queue}",
            )
            query = self._q["push_one"]
            await self._pushes.run(lambda con: con.execute(query, *one))
            return
        columns, notes = job_columns(envelopes)
        query = self._q["push_plain"]
        await self._pushes.run(lambda con: con.execute(query, *columns, notes))

    async def copy(self, envelopes: Sequence[Envelope], now: float) -> None:
        """Big batches go through COPY: a third less server time than INSERT ... unnest.

        COPY cannot evaluate expressions, so the clamps ``push_plain`` applies in SQL
        happen here, with ``now`` the database clock as the driver estimates it.
        """
        table = self._names.prefix + "jobs"
        schema = self._names.schema

        async def copy(con: Any) -> None:
            due: dict[str, float] = {}
            async with con.transaction():
                # Several COPYs in the one transaction: each is sent before the next
                # chunk's rows are built, so the server stores one while the client
                # builds the next (a sixth off a 1,000-job push).
                sending: asyncio.Future[Any] | None = None
                try:
                    for start in range(0, len(envelopes), COPY_CHUNK):
                        records = _copy_records(envelopes[start : start + COPY_CHUNK], now, due)
                        if sending is not None:
                            await sending
                        sending = asyncio.ensure_future(
                            con.copy_records_to_table(
                                table,
                                schema_name=schema,
                                columns=_COPY_COLUMNS,
                                records=records,
                            )
                        )
                        await asyncio.sleep(0)  # it writes its rows before we build more
                    if sending is not None:
                        await sending
                except BaseException:
                    if sending is not None:
                        await _settled(sending)
                    raise
                notes = [f"{at!r} {queue}" for queue, at in due.items()]
                await con.execute(self._q["notify"], notes)

        await self._pushes.run(copy)

    async def insert(self, envelopes: Sequence[Envelope], connection: Any) -> set[str]:
        """Insert the jobs whose ids and unique keys are free; return their ids."""
        columns, _ = job_columns(envelopes)
        columns += ([e.unique_key for e in envelopes],)
        query = self._q["push"]
        if connection is not None:
            rows = await connection.fetch(query, *columns)
        else:
            rows = await self._pushes.run(lambda con: con.fetch(query, *columns))
        return {r[0] for r in rows}

    async def holders(self, envelopes: Sequence[Envelope], connection: Any) -> dict[str, str]:
        """For jobs not inserted, the id of the job that holds each one's unique key."""
        args = ([e.id for e in envelopes], [e.unique_key for e in envelopes])
        query = self._q["holders"]
        if connection is not None:
            rows = await connection.fetch(query, *args)
        else:
            rows = await self._pushes.run(lambda con: con.fetch(query, *args))
        return {r[0]: r[1] for r in rows if r[1] is not None}


def _copy_records(
    envelopes: Sequence[Envelope], now: float, due: dict[str, float]
) -> list[tuple[object, ...]]:
    """COPY rows for ``envelopes``, with the clamps ``push_plain`` applies in SQL, noting
    in ``due`` when each queue's first job is due (0: now)."""
    records: list[tuple[object, ...]] = []
    # Per job, plain comparisons instead of min()/max() calls: this loop is a fifth of a
    # bulk push's client time.
    for env in envelopes:
        at, queue, priority = env.available_at, env.queue, env.priority
        if at <= env.created_at:
            due[queue] = 0.0  # due now (0) unless every job of the queue is delayed
            if at > now:
                at = now
        else:
            held = due.get(queue)
            if held is None or at < held:
                due[queue] = at
        if not 0 <= priority <= 5:
            priority = 0 if priority < 0 else 5
        records.append(
            (
                env.id,
                queue,
                env.name,
                priority,
                at,
                env.created_at,
                env.attempts,
                env.max_attempts,
                env.encode().decode(),
            )
        )
    return records


async def _settled(fut: asyncio.Future[Any]) -> None:
    """Stop ``fut`` (an operation on a connection about to roll back) and wait for it;
    its own error is dropped, the caller's is the one raised."""
    if not fut.done():
        fut.cancel()
    await asyncio.wait({fut})
    if not fut.cancelled():
        fut.exception()


def job_columns(envelopes: Sequence[Envelope]) -> tuple[tuple[list[Any], ...], list[str]]:
    """The jobs as column arrays for ``unnest``, and one wake-up note per queue."""
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [], [])
    ids, queues, names, prios, avail, created, attempts, maxes, bodies = columns
    due: dict[str, float] = {}
    for env in envelopes:
        ids.append(env.id)
        queues.append(env.queue)
        names.append(env.name)
        prios.append(env.priority)
        avail.append(env.available_at)
        created.append(env.created_at)
        attempts.append(env.attempts)
        maxes.append(env.max_attempts)
        bodies.append(env.encode().decode())
        # Due now (0) unless every job of the queue is delayed.
        at = 0.0 if env.available_at <= env.created_at else env.available_at
        due[env.queue] = min(due.get(env.queue, at), at)
    return columns, [f"{at!r} {queue}" for queue, at in due.items()]
