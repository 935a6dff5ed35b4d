"""Redis driver: every state change is one Lua script, judged by the server's clock.

Why this shape
--------------
A job is always in exactly one structure (ready, delayed, reserved or failed) and moves
between them inside one script, so a crash between two commands cannot lose or
duplicate it, and a job is never popped into a worker's memory only: reserving moves it
to the reserved set in the same script that hands it out. Leases and "now" come from
``TIME`` on the server, so workers with skewed clocks agree on when a lease expired.
Scripts live in ``*.lua`` files next to this module (each prefixed with
``prelude.lua``), are registered once and called by SHA; a ``NOSCRIPT`` after a server
restart or ``SCRIPT FLUSH`` reloads the script and retries the call.

Where things are
----------------
``RedisDriver`` opens the clients and runs the hot path itself: push (one script call
per queue and a few hundred jobs, in one round trip), reserve (up to ``limit`` jobs per
call) and ack (one call per queue for the whole batch), so those make no await beyond
what they did as one class. Every other call goes to its subsystem's part, each holding
the same ``Link`` (the clients, the loaded scripts, the key scheme)::

    connection.py    the clients (a blocking pool, or a cluster) and outage errors
    scripts.py       loading the Lua scripts, running calls in one round trip
    keys.py          every key name, and the key layout
    link.py          what the parts share
    push.py          the push script's calls, streamed on the push connection or pipelined
    leases.py        the reserve call and its reply; release, fail, renewal, rescue
    wait.py          blocking waits (``BLPOP`` on wake lists) and wait-then-lease
    queues.py        counts, listings, find, cancel, promote, clear
    failed_store.py  the failed store, kept per queue
    registry.py      heartbeats, paused queues, the restart signal, throughput, timings,
                     operational events
    coordination.py  shared counters and locks
    batches.py       batches
    server.py        eviction and persistence warnings, noticing a server restart
    packing.py       commands packed by hiredis in C

This file runs a little past 400 lines because the port's methods are each written out,
typed, as one line handing the call to its part, so the whole surface reads in one place.

Connecting
----------
``redis://`` and ``rediss://`` URLs; a cluster with ``redis+cluster://host:port``, a
``?cluster=true`` query parameter, or ``cluster=True``. ``open`` warns about a server
that may lose jobs, and each heartbeat notices a restart (``server.py``). Connection
errors are retried a few times with backoff: a retried push rewrites the same ids (no
duplicate), and a reserve whose reply was lost leaves jobs leased until ``rescue``
requeues them, which costs an attempt but never loses a job. On a cluster each queue's
leases are judged by the clock of the master holding it, and ``now()`` asks one node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError, DriverUnavailableError
from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
)
from gello_queue.core.job_query import JobPage
from gello_queue.core.states import JobState
from gello_queue.drivers.outage import outage_boundary
from gello_queue.drivers.redis.batches import Batches
from gello_queue.drivers.redis.connection import (
    POOL_MAX,
    POOL_TIMEOUT_S,
    Client,
    build_client,
    outage,
)
from gello_queue.drivers.redis.coordination import Coordination
from gello_queue.drivers.redis.failed_store import FailedStore
from gello_queue.drivers.redis.history import History
from gello_queue.drivers.redis.job_queries import JobQueries
from gello_queue.drivers.redis.keys import KeyScheme
from gello_queue.drivers.redis.leases import Leases, reserve_call, reserved
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.packing import hiredis_pack
from gello_queue.drivers.redis.push import Pushes, Unpackable, push_ids
from gello_queue.drivers.redis.queues import Queues
from gello_queue.drivers.redis.registry import Registry
from gello_queue.drivers.redis.scripts import Call, load_scripts, run
from gello_queue.drivers.redis.server import ServerWatch
from gello_queue.drivers.redis.urls import redact_url, split_cluster
from gello_queue.drivers.redis.wait import Waiter
from gello_queue.ports import (
    BatchRecord,
    Capability,
    CompletedJob,
    FailedJob,
    Failure,
    JobRecord,
    OpsEvent,
    Progress,
    QueueCounts,
    RescueResult,
    Reservation,
    ThroughputBucket,
    TimingCount,
    WorkerRecord,
)


@outage_boundary
class RedisDriver:
    """The port on Redis (standalone or Cluster); see the module docstring."""

    name = "redis"
    capabilities: frozenset[str] = frozenset(Capability)  # every guarantee a database gives

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "gello:",
        cluster: bool | None = None,
        socket_timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        client_name: str | None = "gello",
        pool_max: int = POOL_MAX,
        pool_timeout_s: float = POOL_TIMEOUT_S,
    ) -> None:
        if pool_max < 1 or pool_timeout_s <= 0:
            raise ConfigurationError(
                f"Redis pool needs pool_max >= 1 and a timeout above 0"
                f" (got pool_max={pool_max}, pool_timeout_s={pool_timeout_s})"
            )
        self.url = url
        self.pool_max = pool_max
        """Connections this driver's pool opens at most (a cluster's pools are redis-py's
        own, per node, and do not wait)."""
        self.pool_timeout_s = pool_timeout_s
        """How long a call waits for a free connection when all are busy."""
        self.prefix = prefix
        self._client_url, from_url = split_cluster(url)
        self.cluster = from_url if cluster is None else cluster
        self.socket_timeout_s = socket_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.client_name = client_name
        """Shown by ``CLIENT LIST``; blocking connections get ``:wait`` appended."""
        self._k = KeyScheme(prefix)
        self._link = Link(self._k, cluster=self.cluster)
        self._pushes = Pushes(self._link)
        self._leases = Leases(self._link)
        self._waiter = Waiter(self._link, self.reserve)
        self._queues = Queues(self._link)
        self._job_queries = JobQueries(self._link)
        self._failed = FailedStore(self._link)
        self._registry = Registry(self._link)
        self._coordination = Coordination(self._link)
        self._batches = Batches(self._link, self._pushes)
        self._history = History(self._link)
        self._server = ServerWatch(self._link, url)
        self._push_conn: AbstractConnection | None = None
        """A connection kept out of the pool for pushes (standalone Redis; see ``push``)."""
        self._push_busy = False
        self._push_reconnect: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        if self._link.client is not None:
            return
        try:
            client = self._client(self.socket_timeout_s)
            self._link.client = client
            if isinstance(client, RedisCluster):
                await client.initialize()
            else:
                await client.ping()
                # The connection that answered the ping, kept for pushes.
                if hiredis_pack is not None:
                    pool = client.connection_pool
                    self._push_conn = await pool.get_connection()  # type: ignore[no-untyped-call]
            # BLPOP holds its connection for the whole timeout: give it its own pool.
            self._link.blocking = self._client(None, ":wait")
        except ValueError as exc:  # redis-py parses the URL here
            await self.close()
            raise ConfigurationError(f"invalid Redis URL {redact_url(self.url)}: {exc}") from None
        except BaseException:
            await self.close()
            raise
        self._link.scripts = scripts = load_scripts(client)
        # Kept at hand for the hot path.
        self._s_reserve, self._s_ack = scripts["reserve"], scripts["ack"]
        await self._server.opened(client)

    def _client(self, socket_timeout: float | None, role: str = "") -> Client:
        return build_client(
            self._client_url,
            cluster=self.cluster,
            client_name=self.client_name and self.client_name + role,
            socket_timeout=socket_timeout,
            connect_timeout=self.connect_timeout_s,
            pool_max=self.pool_max,
            pool_timeout_s=self.pool_timeout_s,
        )

    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """Applied to every public method by ``outage_boundary``."""
        return outage(
            error,
            cluster=self.cluster,
            url=self.url,
            pool_max=self.pool_max,
            pool_timeout_s=self.pool_timeout_s,
        )

    async def server_restarts(self) -> dict[str, Any] | None:
        return await self._server.server_restarts()

    async def close(self) -> None:
        reconnect, self._push_reconnect = self._push_reconnect, None
        if reconnect is not None:
            reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await reconnect
        conn, self._push_conn = self._push_conn, None
        if conn is not None and isinstance(self._link.client, Redis):
            with contextlib.suppress(RedisError, OSError):
                await self._link.client.connection_pool.release(conn)
        for client in (self._link.blocking, self._link.client):
            if client is not None:
                with contextlib.suppress(RedisError, RedisClusterException, OSError):
                    await client.aclose()
        self._link.client = self._link.blocking = None

    @property
    def redis(self) -> Client:
        """The open client (for tools and tests); raises when the driver is not open."""
        return self._link.redis

    async def now(self) -> float:
        return await self._link.now()

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        if not envelopes:
            return []
        conn = self._push_conn
        if conn is not None and not self._push_busy and conn.is_connected:
            # One push at a time uses the push connection; concurrent ones, the pool.
            self._push_busy = True
            try:
                sent, results = await self._pushes.streamed(conn, envelopes)
            except (RedisConnectionError, RedisTimeoutError, OSError, Unpackable):
                # The pool's retries re-send the same ids, which stores each job once.
                await conn.disconnect(nowait=True)
            except BaseException:
                # Cancelled between a send and its reply: unread replies (or half a
                # command) would meet the next push.
                await conn.disconnect(nowait=True)
                raise
            else:
                return await self._pushes.settle(envelopes, sent, results)
            finally:
                self._push_busy = False
        calls, chunks = self._pushes.calls(envelopes)
        ids = push_ids(envelopes, chunks, await run(self._link.redis, calls))
        if conn is not None and not conn.is_connected and not self._push_busy:
            # The server answers again: reconnect in the background. Reconnecting
            # inline would add the connection's own retries to the pool's while the
            # server is down (a failover would wait twice as long).
            self._push_busy = True
            self._push_reconnect = asyncio.create_task(self._reconnect_push(conn))
        return ids

    async def _reconnect_push(self, conn: AbstractConnection) -> None:
        try:
            await conn.connect()  # type: ignore[no-untyped-call]
        except (RedisError, OSError):
            pass  # the next pool push tries again
        finally:
            self._push_busy = False
            self._push_reconnect = None

    # -- consuming -------------------------------------------------------------------
    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        out: list[Reservation] = []
        token = os.urandom(8).hex()
        # One call per queue, in order: each stays in its queue's slot, and a later queue
        # is asked only for what the earlier ones could not give.
        for queue in queues:
            want = limit - len(out)
            if want <= 0:
                break
            keys, args = reserve_call(self._k, queue, want, lease_s, token, worker_id)
            out += reserved(queue, token, await self._s_reserve(keys, args))
        return out

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        await self._waiter.wait(queues, timeout_s)

    async def reserve_wait(
        self,
        queues: Sequence[str],
        limit: int,
        *,
        lease_s: float,
        worker_id: str,
        timeout_s: float,
    ) -> list[Reservation]:
        """See ``Waiter.reserve_wait``."""
        return await self._waiter.reserve_wait(
            queues, limit, lease_s=lease_s, worker_id=worker_id, timeout_s=timeout_s
        )

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        if not reservations:
            return []
        groups: dict[str, list[str]] = {}
        for res in reservations:
            groups.setdefault(res.queue, []).extend((res.id, res.token))
        calls: list[Call] = []
        for queue, pairs in groups.items():
            k = self._k.of(queue)
            calls.append((self._s_ack, (k.reserved,), (k.job, k.unique, *pairs)))
        return [job_id for lost in await run(self._link.redis, calls) for job_id in lost]

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        return await self._leases.release(reservation, envelope, delay_s)

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        return await self._leases.fail(reservation, body, failure)

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        return await self._leases.extend(reservations, lease_s)

    async def rescue(self) -> RescueResult:
        return await self._leases.rescue()

    # -- inspecting and managing (queues.py) -----------------------------------------
    async def counts(self) -> dict[str, QueueCounts]:
        return await self._queues.counts()

    async def queues(self) -> list[str]:
        return await self._queues.queues()

    async def clear(self, queue: str) -> int:
        return await self._queues.clear(queue)

    async def find(self, job_id: str) -> JobRecord | None:
        return await self._queues.find(job_id)

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        return await self._queues.jobs(queue, state, limit=limit, offset=offset)

    async def cancel(self, job_id: str) -> bool:
        return await self._queues.cancel(job_id)

    async def promote(self, job_id: str) -> bool:
        return await self._queues.promote(job_id)

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        return await self._queues.job_ids_by_prefix(prefix, limit)

    # -- jobs by filter (job_queries.py) ---------------------------------------------
    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        return await self._job_queries.jobs_search(state, query, limit=limit, cursor=cursor)

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        return await self._job_queries.jobs_tally(state, query)

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._job_queries.jobs_cancel_step(state, query, limit=limit, cursor=cursor)

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._job_queries.jobs_promote_step(query, limit=limit, cursor=cursor)

    # -- the failed store (failed_store.py) ------------------------------------------
    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        return await self._failed.failed_list(queue=queue, limit=limit, offset=offset)

    async def failed_count(self, queue: str | None = None) -> int:
        return await self._failed.failed_count(queue)

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        return await self._failed.failed_ids_by_prefix(prefix, limit)

    async def failed_find(self, job_id: str) -> FailedJob | None:
        return await self._failed.failed_find(job_id)

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        return await self._failed.failed_retry(job_ids)

    async def failed_retry_all(self, queue: str | None = None) -> int:
        return await self._failed.failed_retry_all(queue)

    async def failed_forget(self, job_id: str) -> bool:
        return await self._failed.failed_forget(job_id)

    async def failed_flush(self, queue: str | None = None) -> int:
        return await self._failed.failed_flush(queue)

    async def failed_prune(self, before: float) -> int:
        return await self._failed.failed_prune(before)

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        return await self._failed.failed_import(records)

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        return await self._failed.failed_search(query, limit=limit, cursor=cursor)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        return await self._failed.failed_tally(query)

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        return await self._failed.failed_groups(query)

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._failed.failed_retry_step(query, limit=limit, cursor=cursor)

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._failed.failed_purge_step(query, limit=limit, cursor=cursor)

    # -- workers and control (registry.py) -------------------------------------------
    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        await self._registry.worker_beat(record, ttl_s)
        # Every running worker beats: a restart of the server is noticed within a beat.
        await self._server.watch()

    async def worker_gone(self, worker_id: str) -> None:
        await self._registry.worker_gone(worker_id)

    async def worker_command(self, worker_id: str, command: str) -> None:
        await self._registry.worker_command(worker_id, command)

    async def worker_command_take(self, worker_id: str) -> str | None:
        return await self._registry.worker_command_take(worker_id)

    async def workers(self) -> list[WorkerRecord]:
        return await self._registry.workers()

    async def pause(self, queue: str) -> None:
        await self._registry.pause(queue)

    async def resume(self, queue: str) -> None:
        await self._registry.resume(queue)

    async def paused(self) -> set[str]:
        return await self._registry.paused()

    async def signal_restart(self) -> float:
        return await self._registry.signal_restart()

    async def restart_signal(self) -> float | None:
        return await self._registry.restart_signal()

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        await self._registry.record_throughput(counts, minute)

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        return await self._registry.throughput(since)

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        await self._registry.record_timings(counts)

    async def timings(self, since: float) -> list[TimingCount]:
        return await self._registry.timings(since)

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        await self._registry.events_add(events)

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        return await self._registry.events_recent(limit=limit, since=since)

    # -- coordination (coordination.py) ----------------------------------------------
    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        return await self._coordination.counter_incr(key, by, ttl_s)

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        return await self._coordination.lock_acquire(key, owner, ttl_s)

    async def lock_release(self, key: str, owner: str) -> bool:
        return await self._coordination.lock_release(key, owner)

    async def lock_owner(self, key: str) -> str | None:
        return await self._coordination.lock_owner(key)

    # -- results (coordination.py) ---------------------------------------------------
    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        await self._coordination.result_put(job_id, data, ttl_s)

    async def result_get(self, job_id: str) -> str | None:
        return await self._coordination.result_get(job_id)

    async def result_wait(self, job_id: str, timeout_s: float) -> str | None:
        return await self._coordination.result_wait(job_id, timeout_s)

    # -- progress (coordination.py) --------------------------------------------------
    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        await self._coordination.progress_put(job_id, progress, ttl_s)

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        return await self._coordination.progress_get(job_ids)

    # -- completed jobs (history.py) -------------------------------------------------
    async def ack_recording(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        return await self._history.ack_recording(reservations, completed, keep)

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        return await self._history.recent(queue=queue, name=name, limit=limit, since=since, tag=tag)

    async def history_counts(self) -> dict[str, int]:
        return await self._history.history_counts()

    async def history_trim(self, keep: int) -> int:
        return await self._history.history_trim(keep)

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        return await self._history.history_prune(before, monitored_before=monitored_before)

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        return await self._history.tag_monitor(tag, monitored)

    async def tags_monitored(self) -> list[str]:
        return await self._history.tags_monitored()

    # -- batches (batches.py) --------------------------------------------------------
    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        return await self._batches.batch_push(record, envelopes)

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        return await self._batches.batch_mark(batch_id, job_id, failed)

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        return await self._batches.batch_find(batch_id, with_failed=with_failed)

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        return await self._batches.batch_list(limit=limit, offset=offset)

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        return await self._batches.batch_cancel(batch_id, cancelled=cancelled)

    async def batch_prune(self, before: float) -> int:
        return await self._batches.batch_prune(before)
