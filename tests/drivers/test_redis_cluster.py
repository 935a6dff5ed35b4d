"""The Redis driver on a real three-master Redis Cluster (``backends.redis_cluster``):
what only a cluster does. The conformance suite runs on it too, as ``redis-cluster``.

Every queue's keys share a hash tag, so each script runs on one node; queues spread
over the masters.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from backends import redis_cluster
from helpers import envelope, eventually, wait_for
from redis.asyncio import RedisCluster
from redis.exceptions import RedisError

from gello_queue.drivers.redis import RedisDriver
from gello_queue.ports import Failure, WorkerRecord

W = "worker-1"


@pytest.fixture
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[RedisDriver]:
    async with redis_cluster.open_driver(request) as opened:
        yield opened


def _restart_node(port: int, directory: Path) -> None:
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    wait_for(lambda: not redis_cluster.ping(port))
    redis_cluster.start_node(port, directory)
    wait_for(
        lambda: redis_cluster.ping(port) and redis_cluster.state_ok(port),
        timeout_s=30,
        every_s=0.1,
    )


def _spread(client: RedisCluster, prefix: str) -> list[str]:
    """Three queue names whose keys live on three different masters."""
    chosen: dict[int, str] = {}
    for i in range(1000):
        name = f"q{i}"
        node = client.get_node_from_key(f"{prefix}{{q:{name}}}:ready")
        chosen.setdefault(node.port, name)
        if len(chosen) == 3:
            return list(chosen.values())
    raise AssertionError("could not place queues on three masters")


async def test_cluster_push_reserve_ack_fail_and_rescue_across_masters(
    driver: RedisDriver,
) -> None:
    assert driver.cluster
    client = driver.redis
    assert isinstance(client, RedisCluster)
    a, b, c = _spread(client, driver.prefix)

    envs = [envelope(q, payload={"i": i}) for i in range(20) for q in (a, b, c)]
    assert await driver.push(envs) == [e.id for e in envs]
    counts = await driver.counts()
    assert [counts[q].pending for q in (a, b, c)] == [20, 20, 20]

    # Strict queue order across nodes, then batch ack with one call per queue.
    got = await driver.reserve([a, b, c], 30, lease_s=30, worker_id=W)
    assert [r.queue for r in got] == [a] * 20 + [b] * 10
    assert await driver.ack(got) == []

    [res] = await driver.reserve([c], 1, lease_s=30, worker_id=W)
    assert await driver.fail(res, str(res.body), Failure("ValueError", "boom"))
    assert (await driver.failed_find(res.id)) is not None
    assert await driver.failed_count(c) == 1

    short = await driver.reserve([b, c], 25, lease_s=0.2, worker_id=W)
    assert len(short) == 25
    # Each master judges its own leases by its own clock, and the two queues' leases were
    # taken a moment apart: one rescue pass may requeue one queue's jobs and a later pass
    # the other's. What counts is that every job comes back once.
    requeued: list[str] = []

    async def rescue_more() -> list[str]:
        requeued.extend((await driver.rescue()).requeued)
        return requeued

    await eventually(rescue_more, lambda ids: len(ids) >= 25)
    assert sorted(requeued) == sorted(r.id for r in short)
    assert sorted(await driver.ack(short)) == sorted(r.id for r in short)
    counts = await driver.counts()
    assert (counts[b].pending, counts[c].pending, counts[c].failed) == (10, 19, 1)
    assert await driver.failed_retry_all() == 1


async def test_cluster_scripts_reload_on_every_master(driver: RedisDriver) -> None:
    client = driver.redis
    assert isinstance(client, RedisCluster)
    queues = _spread(client, driver.prefix)
    await driver.push([envelope(q) for q in queues])
    await client.script_flush()
    held = await driver.reserve(queues, 3, lease_s=30, worker_id=W)
    assert len(held) == 3
    await client.script_flush()
    assert await driver.ack(held) == []


async def test_cluster_wait_on_several_queues_returns_soon(driver: RedisDriver) -> None:
    # A push wakes a waiter on a cluster as anywhere (test_wait_contract). Several queues
    # live on several masters: the wait blocks briefly on the first, then returns.
    start = time.monotonic()
    await driver.wait(["x", "y"], 5.0)
    assert time.monotonic() - start < 0.5


async def test_cluster_malformed_jobs_fail_alone_on_every_master(driver: RedisDriver) -> None:
    client = driver.redis
    assert isinstance(client, RedisCluster)
    queues = _spread(client, driver.prefix)
    envs = [envelope(q) for q in queues for _ in range(3)]
    await driver.push(envs)
    bad = [envs[i].id for i in (1, 4, 7)]  # the middle job of each queue
    for env in envs[1::3]:
        key = f"{driver.prefix}{{q:{env.queue}}}:j:{env.id}"
        await client.delete(key)
        await client.set(key, "a plain string")
    got = await driver.reserve(queues, 10, lease_s=30, worker_id=W)
    assert sorted(r.id for r in got) == sorted(e.id for e in envs if e.id not in bad)
    failed = await driver.failed_list()
    assert sorted(f.id for f in failed) == sorted(bad)
    assert all("is a Redis string, not a job hash" in f.message for f in failed)


async def test_cluster_a_restarted_master_is_reported(driver: RedisDriver) -> None:
    client = driver.redis
    assert isinstance(client, RedisCluster)
    assert len(driver._server.servers) == 3  # one per master
    record = WorkerRecord("w1", "w", "h", 1, ["default"], 1, "running", 0, 0, [], 0.0, 0)
    await driver.worker_beat(record, 10)
    assert await driver.server_restarts() is None
    # Restart the master that does not hold the restart record: it keeps nothing.
    holder = client.get_node_from_key(driver._k.server)
    node = next(n for n in client.get_primaries() if n.port != holder.port)
    info = await client.execute_command("CONFIG GET", "dir", target_nodes=node)
    await asyncio.to_thread(_restart_node, node.port, Path(info["dir"]))
    with structlog.testing.capture_logs() as logs:
        await eventually(lambda: _beat(driver, record), timeout_s=30, every_s=0.2)
    [entry] = [e for e in logs if e["log_level"] == "error"]
    assert entry["event"].startswith("redis restarted and keeps nothing on disk")
    assert entry["node"].endswith(f":{node.port}")
    restarts = await driver.server_restarts()
    assert restarts is not None
    assert (restarts["count"], restarts["persistent"]) == (1, False)


async def _beat(driver: RedisDriver, record: WorkerRecord) -> bool:
    try:
        await driver.worker_beat(record, 10)
    except RedisError:
        return False  # the client still finds its way back to the restarted node
    return True
