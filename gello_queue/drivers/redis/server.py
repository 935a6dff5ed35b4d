"""The server's own state: what it may lose, and whether it restarted.

At ``open`` a ``maxmemory-policy`` that may evict keys is a loud warning (an evicted key
is a lost job), and a server that keeps nothing on disk (no AOF, no RDB) is warned about
once per process (a restart loses every job). Each heartbeat compares every master's
``run_id`` (or, without one, its start time) with the one seen last: a change is a
restart, logged as an error and recorded once in ``P{g}:server``, whoever notices it.
CONFIG and INFO are often refused on managed services; then there is nothing to warn
about or compare, and nothing fails.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from gello_queue.drivers.redis.connection import Client
from gello_queue.drivers.redis.link import Link, hash_fields
from gello_queue.drivers.redis.urls import redact_url

log = structlog.get_logger("gello")
_WARNED_VOLATILE: set[str] = set()
"""URLs already warned about keeping jobs only in memory."""


class ServerWatch:
    """Warnings about the server at ``open``, and its restarts noticed at each beat."""

    def __init__(self, link: Link, url: str) -> None:
        self._link = link
        self._k = link.keys
        self.url = url
        self.servers: dict[str, _Server] = {}
        """Each server as last seen (by node on a cluster), to notice a restart."""
        self.restarts = 0
        """Restarts recorded in the backend when this client last looked."""

    async def opened(self, client: Client) -> None:
        """Warn about what the server may lose, and remember it as it is now."""
        await self.check_eviction(client)
        if self.url not in _WARNED_VOLATILE and await self.volatile_nodes(client):
            _WARNED_VOLATILE.add(self.url)  # once per process: a command may open twice
            log.warning(
                "redis keeps jobs only in memory: a restart loses them",
                url=redact_url(self.url),
                fix="turn on appendonly yes (or RDB snapshots with save) on the server",
            )
        with contextlib.suppress(RedisError, RedisClusterException):
            self.servers = await _servers(client)
            self.restarts = int(await client.hget(self._k.server, "count") or 0)

    async def check_eviction(self, client: Client) -> None:
        try:
            reply = await client.config_get("maxmemory-policy")
        except (RedisError, RedisClusterException):
            return  # CONFIG is often disabled on managed services
        policies = {p for p in _config_values(reply, "maxmemory-policy") if p != "noeviction"}
        if policies:
            log.warning(
                "redis may evict keys: evicted keys are lost jobs",
                maxmemory_policy=", ".join(sorted(policies)),
                url=redact_url(self.url),
                fix="set maxmemory-policy noeviction on the server gello uses",
            )

    async def volatile_nodes(self, client: Client) -> list[str]:
        """Servers that keep nothing on disk (neither AOF nor RDB snapshots): ``[""]``
        for a standalone one, node names on a cluster; none known when CONFIG is off."""
        try:
            aof = _by_node(await _each_master(client, "CONFIG GET", "appendonly"))
            rdb = _by_node(await _each_master(client, "CONFIG GET", "save"))
        except (RedisError, RedisClusterException):
            return []  # CONFIG is often disabled on managed services
        return sorted(
            node
            for node, config in aof.items()
            if config.get("appendonly") == "no" and not rdb.get(node, {}).get("save")
        )

    async def watch(self) -> None:
        """Compare each server with the one seen last: a restart is logged as an error
        and recorded once in the backend (``server_restarts``), whoever notices it."""
        client = self._link.redis
        try:
            seen = await _servers(client)
        except (RedisError, RedisClusterException):
            return  # INFO refused: nothing to compare
        before, self.servers = self.servers, {**self.servers, **seen}
        for node, server in seen.items():
            old = before.get(node)
            if old is None or not old.restarted(server):
                continue
            volatile = node in await self.volatile_nodes(client)
            count, _, _ = await self._link.scripts["server_restart"](
                (self._k.server,),
                (server.identity, self.restarts, repr(server.started_at), int(not volatile)),
            )
            self.restarts = int(count)
            log.error(
                "redis restarted and keeps nothing on disk: the jobs it held are lost"
                if volatile
                else "redis restarted: writes it had not saved yet are lost",
                url=redact_url(self.url),
                node=node or None,
                restarts=self.restarts,
                fix="turn on appendonly yes on the server, and dispatch the lost jobs again"
                if volatile
                else "check the server's persistence settings",
            )

    async def server_restarts(self) -> dict[str, Any] | None:
        """The restarts of the server that workers noticed (see ``watch``):
        ``count``, ``last_at`` (when it started again, server time) and ``persistent``
        (whether it keeps data on disk), or None when none was noticed."""
        raw = hash_fields(await self._link.redis.execute_command("HGETALL", self._k.server))
        if not raw:
            return None
        return {
            "count": int(raw["count"]),
            "last_at": float(raw["at"]),
            "persistent": raw.get("persistent") == "1",
        }


def _config_values(reply: Any, name: str) -> list[str]:
    """Values of ``name`` in a CONFIG GET reply (a dict, or one dict per cluster node)."""
    if isinstance(reply, dict):
        if name in reply:
            return [str(reply[name])]
        return [v for sub in reply.values() for v in _config_values(sub, name)]
    return []


@dataclass(frozen=True, slots=True)
class _Server:
    """One server as INFO describes it: a restart changes both."""

    run_id: str
    started_at: float
    """Server time minus uptime."""

    @property
    def identity(self) -> str:
        return self.run_id or f"{self.started_at:.0f}"

    def restarted(self, later: _Server) -> bool:
        if self.run_id and later.run_id:
            return later.run_id != self.run_id
        # Without a run id (some proxies hide it) the start time moving on tells it;
        # uptime counts whole seconds, so it may wobble by one.
        return later.started_at > self.started_at + 2


async def _servers(client: Client) -> dict[str, _Server]:
    """Each server (``""`` off a cluster, else each node) as INFO describes it now."""
    found: dict[str, _Server] = {}
    for node, info in _by_node(await _each_master(client, "INFO", "server")).items():
        clock = float(info.get("server_time_usec", 0)) / 1e6 or time.time()
        found[node] = _Server(
            str(info.get("run_id", "")), clock - float(info.get("uptime_in_seconds", 0))
        )
    return found


async def _each_master(client: Client, *command: str) -> Any:
    """A command's reply from the server, or from every master of a cluster (by node)."""
    if isinstance(client, RedisCluster):
        return await client.execute_command(*command, target_nodes=RedisCluster.PRIMARIES)
    return await client.execute_command(*command)  # type: ignore[no-untyped-call]


def _by_node(reply: Any) -> dict[str, dict[str, Any]]:
    """A CONFIG GET or INFO reply per node: ``{"": reply}`` off a cluster."""
    if not isinstance(reply, dict):
        return {}
    if reply and all(isinstance(v, dict) for v in reply.values()):
        return {str(node): v for node, v in reply.items()}
    return {"": reply}
