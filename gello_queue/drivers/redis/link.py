"""What the Redis driver's stores share: the open clients, the scripts and the keys.

The driver opens and closes the clients; each store (the failed store, the registry,
batches...) holds the one ``Link`` and reads the client from it at each call, so a store
built before ``open`` works once the driver is open and says so while it is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.redis.connection import Client
from gello_queue.drivers.redis.keys import KeyScheme, QueueKeys
from gello_queue.drivers.redis.scripts import Call, Scripts, run

NOT_OPEN = "the Redis driver is not open: call open() first"


class Link:
    """The clients, scripts and key scheme of one driver."""

    def __init__(self, keys: KeyScheme, *, cluster: bool) -> None:
        self.keys = keys
        self.cluster = cluster
        self.client: Client | None = None
        self.blocking: Client | None = None
        """A client of its own for blocking calls (see ``wait.py``)."""
        self.scripts: Scripts = {}

    @property
    def redis(self) -> Client:
        """The open client; raises when the driver is not open."""
        if self.client is None:
            raise DriverUnavailableError(NOT_OPEN)
        return self.client

    def blocking_client(self) -> Client:
        """The client for blocking calls; raises when the driver is not open."""
        if self.blocking is None:
            raise DriverUnavailableError(NOT_OPEN)
        return self.blocking

    async def known(self) -> list[str]:
        """Every queue ever pushed to, by name."""
        names = await self.redis.execute_command("SMEMBERS", self.keys.queues)
        return sorted(names)

    async def each_queue(
        self, name: str, args_of: Callable[[QueueKeys], tuple[Sequence[Any], Sequence[Any]]]
    ) -> list[tuple[str, Any]]:
        """Run one script on every known queue in one round trip: ``(queue, result)``."""
        queues = await self.known()
        if not queues:
            return []
        script = self.scripts[name]
        calls: list[Call] = []
        for q in queues:
            keys, args = args_of(self.keys.of(q))
            calls.append((script, keys, args))
        return list(zip(queues, await run(self.redis, calls), strict=True))

    async def ids_by_prefix(
        self, prefix: str, limit: int, indexes: Callable[[QueueKeys], tuple[str, ...]]
    ) -> list[str]:
        """Up to ``limit`` ids starting with ``prefix`` among the members of each known
        queue's ``indexes``: a ZSCAN MATCH, bounded by those sets, never the keyspace."""
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
        found: set[str] = set()
        for queue in await self.known():
            for index in indexes(self.keys.of(queue)):
                cursor: Any = 0
                while True:
                    cursor, pairs = await self.redis.zscan(index, cursor, match=pattern, count=1000)
                    found.update(str(member) for member, _ in pairs)
                    if int(cursor) == 0 or len(found) >= limit:
                        break
        return sorted(found)[:limit]

    async def now(self) -> float:
        """The server's clock."""
        sec, usec = await self.redis.time()
        return float(sec) + usec / 1_000_000


def hash_fields(raw: Any) -> dict[str, Any]:
    """A hash as returned by HGETALL (a dict, or a flat list from a script)."""
    if isinstance(raw, dict):
        return raw
    return {raw[i]: raw[i + 1] for i in range(0, len(raw), 2)}
