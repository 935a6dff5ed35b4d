"""Per-driver set-up for the conformance suite: name -> isolated, opened driver.

``CONNECTIONS`` adds what the conformance suite runs on besides: a Redis Cluster and
the failover connection. ``INLINE`` is the sync connection, which runs a job at push
and so has no queue to lease from: the suite takes it only where a test says so.
``PEERS`` gives, per connection, another unopened driver on the same storage, as
another process would have.

``UNREACHABLE`` gives, per driver, an unopened driver whose server does not answer (a
loopback port nothing listens on; for SQLite a path it cannot open), and ``DYING`` an
open driver on a server of the test's own with the function that stops it. The memory
driver has no server, so it is in neither.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from backends import failover, memory, postgres, rabbitmq, redis, redis_cluster, sqlite, sqs, sync
from gello_queue.ports import QueueDriver

Opener = Callable[[Any], AbstractAsyncContextManager[QueueDriver]]
Stop = Callable[[], None]
Dying = Callable[[Any], AbstractAsyncContextManager[tuple[Any, Stop]]]

BACKENDS: dict[str, Opener] = {
    "memory": memory.open_driver,
    "redis": redis.open_driver,
    "postgres": postgres.open_driver,
    "sqlite": sqlite.open_driver,
    "rabbitmq": rabbitmq.open_driver,
    "sqs": sqs.open_driver,
}

CONNECTIONS: dict[str, Opener] = {
    **BACKENDS,
    "redis-cluster": redis_cluster.open_driver,
    "failover": failover.open_driver,
}

INLINE: dict[str, Opener] = {"sync": sync.open_driver}

PEERS: dict[str, Callable[[Any], QueueDriver]] = {
    "memory": memory.peer,
    "redis": redis.peer,
    "redis-cluster": redis.peer,
    "postgres": postgres.peer,
    "sqlite": sqlite.peer,
    "rabbitmq": rabbitmq.peer,
    "sqs": sqs.peer,
    "failover": failover.peer,
}

UNREACHABLE: dict[str, Callable[[Any], QueueDriver]] = {
    "redis": redis.unreachable,
    "redis-cluster": redis.unreachable_cluster,
    "postgres": postgres.unreachable,
    "sqlite": sqlite.unreachable,
    "rabbitmq": rabbitmq.unreachable,
    "rabbitmq-store": rabbitmq.unreachable_store,
    "sqs": sqs.unreachable,
    "failover": failover.unreachable,
}

DYING: dict[str, Dying] = {
    "redis": redis.dying,
    "postgres": postgres.dying,
    "sqlite": sqlite.dying,
    "sqs": sqs.dying,
    "failover": failover.dying,
}
