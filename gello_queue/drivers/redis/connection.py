"""Building the Redis clients (a blocking pool, or a cluster client) and naming outages.

A driver opens two clients from one URL: the main one, whose pool every call shares, and
one for blocking waits (``BLPOP`` holds its connection for the whole timeout, so it gets a
pool of its own and never starves acks and reserves). Both are built here, with the same
options, so they differ only in their socket timeout and their client name.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ClusterDownError, RedisClusterException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.outage import unavailable
from gello_queue.drivers.redis.packing import use_fast_packing

Client = Redis | RedisCluster

POOL_MAX = 50
"""Connections one driver's pool opens at most (redis-py's default for a blocking pool)."""
POOL_TIMEOUT_S = 20.0
"""How long a call waits for a free connection when all ``POOL_MAX`` are busy."""

POOL_EMPTY = "No connection available."
"""What redis-py's blocking pool says when its wait for a free connection ran out."""

OUTAGES: tuple[type[BaseException], ...] = (
    RedisConnectionError,  # refused, reset, no free pool connection after its wait, auth
    RedisTimeoutError,
    ClusterDownError,  # a slot's master is down or failing over
    RedisClusterException,  # no node of the cluster answers, or a slot has no node
    OSError,
    TimeoutError,  # a blocking call's guard ran out: a half-open connection
)
"""What redis-py raises when the server cannot be used, as opposed to a refused command."""


def build_client(
    url: str,
    *,
    cluster: bool,
    client_name: str | None,
    socket_timeout: float | None,
    connect_timeout: float,
    pool_max: int = POOL_MAX,
    pool_timeout_s: float = POOL_TIMEOUT_S,
) -> Client:
    """A client for ``url`` (already stripped of the cluster marker).

    Raises:
        ValueError: redis-py could not parse the URL.
    """
    options: dict[str, Any] = {
        "client_name": client_name,
        "decode_responses": True,
        # Bodies that are not UTF-8 (poison messages) survive a round trip intact.
        "encoding_errors": "surrogateescape",
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), 3),
    }
    if cluster:
        return RedisCluster.from_url(url, **options)
    # A full pool makes a caller wait for a free connection (up to pool_timeout_s)
    # instead of failing at once: a burst of dispatches from a web app queues up.
    pool = BlockingConnectionPool.from_url(
        url, max_connections=pool_max, timeout=pool_timeout_s, **options
    )
    use_fast_packing(pool)
    return Redis.from_pool(pool)


def outage(
    error: BaseException,
    *,
    cluster: bool,
    url: str,
    pool_max: int = POOL_MAX,
    pool_timeout_s: float = POOL_TIMEOUT_S,
) -> DriverUnavailableError | None:
    """The ``DriverUnavailableError`` that ``error`` means, or None when it is not an
    outage (a refused command, a bug): that one goes up as it is."""
    if isinstance(error, RedisConnectionError) and str(error) == POOL_EMPTY:
        return DriverUnavailableError(
            f"the Redis connection pool is exhausted: all {pool_max} connections stayed busy"
            f" for {pool_timeout_s:g}s; raise QUEUE_POOL_MAX or QUEUE_POOL_TIMEOUT, or make"
            " fewer calls at once"
        )
    if isinstance(error, OUTAGES):
        return unavailable("Redis Cluster" if cluster else "Redis", url, error)
    return None
