"""The Redis driver on a real three-master Redis Cluster started for this module.

Every queue's keys share a hash tag, so each script runs on one node; queues spread
over the masters. The whole conformance suite runs here again, against the cluster.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from contract import test_queue_contract as _contract
from helpers import envelope, eventually, wait_for
from redis import Redis as SyncRedis
from redis.asyncio import RedisCluster
from redis.exceptions import RedisError

from gello_queue.drivers.redis import RedisDriver
from gello_queue.ports import Failure, WorkerRecord

# The conformance suite, collected again in this module with the cluster ``driver``.
globals().update({k: v for k, v in vars(_contract).items() if k.startswith("test_")})

W = "worker-1"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_ports(n: int) -> list[int]:
    """Ports free along with their cluster-bus twin (+10000); random so runs can overlap."""
    while True:
        base = random.randrange(17000, 19990)
        ports = list(range(base, base + n))
        if all(_free(p) and _free(p + 10000) for p in ports):
            return ports


def _ping(port: int) -> bool:
    try:
        with SyncRedis(port=port, socket_timeout=1) as client:
            return bool(client.ping())
    except (OSError, RedisError):  # still starting
        return False


def _state_ok(port: int) -> bool:
    with SyncRedis(port=port, socket_timeout=2) as client:
        info = client.execute_command("CLUSTER INFO")
        return bool(info.get("cluster_state") in ("ok", b"ok"))


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.fail("redis-server and redis-cli are needed to start a test cluster")
    ports = _pick_ports(3)
    dirs: list[Path] = []
    try:
        for port in ports:
            d = tmp_path_factory.mktemp(f"redis-node-{port}")
            dirs.append(d)
            _start_node(port, d)
        for port in ports:
            wait_for(lambda p=port: _ping(p), timeout_s=20)
        nodes = [f"127.0.0.1:{p}" for p in ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in ports:
            wait_for(lambda p=port: _state_ok(p), timeout_s=30, every_s=0.1)
        yield f"redis://127.0.0.1:{ports[0]}/0?cluster=true"
    finally:
        for port, d in zip(ports, dirs, strict=False):
            subprocess.run(
                [cli or "redis-cli", "-p", str(port), "shutdown", "nosave"],
                capture_output=True,
                timeout=10,
                check=False,
            )
            pidfile = d / "redis.pid"
            if pidfile.exists():
                pid = int(pidfile.read_text().strip() or 0)
                deadline = time.monotonic() + 5
                while pid and time.monotonic() < deadline and _alive(pid):
                    time.sleep(0.05)
                if pid and _alive(pid):
                    os.kill(pid, signal.SIGTERM)


def _start_node(port: int, directory: Path) -> None:
    """Start (or start again) a cluster node that keeps nothing on disk but its
    cluster configuration."""
    options = {
        "port": str(port),
        "bind": "127.0.0.1",
        "cluster-enabled": "yes",
        "cluster-config-file": "nodes.conf",
        "save": "",
        "appendonly": "no",
        "daemonize": "yes",
        "dir": str(directory),
        "pidfile": str(directory / "redis.pid"),
        "logfile": str(directory / "redis.log"),
    }
    argv = ["redis-server"]
    for name, value in options.items():
        argv += (f"--{name}", value)
    subprocess.run(argv, check=True, timeout=30)


def _restart_node(port: int, directory: Path) -> None:
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    wait_for(lambda: not _ping(port))
    _start_node(port, directory)
    wait_for(lambda: _ping(port) and _state_ok(port), timeout_s=30, every_s=0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
async def driver(cluster_url: str) -> AsyncIterator[RedisDriver]:
    opened = RedisDriver(cluster_url, prefix=f"gtest:{uuid.uuid4().hex}:")
    await opened.open()
    yield opened
    await opened.close()


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
    rescued = await eventually(driver.rescue, lambda r: len(r.requeued) == 25)
    assert sorted(rescued.requeued) == sorted(r.id for r in short)
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


async def test_cluster_wait_wakes_on_push(driver: RedisDriver, cluster_url: str) -> None:
    plain = cluster_url.replace("redis://", "redis+cluster://").split("?")[0]
    other = RedisDriver(plain, prefix=driver.prefix)
    await other.open()
    try:
        task = asyncio.create_task(driver.wait(["default"], 5.0))
        # Whether the push lands before or during the BLPOP, its token is seen.
        start = time.monotonic()
        await other.push([envelope()])
        await task
        assert time.monotonic() - start < 0.5
        # Several queues on a cluster: bounded blocking on the first, then return.
        start = time.monotonic()
        await driver.wait(["x", "y"], 5.0)
        assert time.monotonic() - start < 0.5
    finally:
        await other.close()


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
