"""A Redis Cluster for the conformance suite: three masters on loopback ports of their
own, started once per test process on first use and shut down at exit; each test gets
its own key prefix on it.

Every queue's keys share a hash tag, so each script runs on one node and queues spread
over the masters. A cluster that does not come up fails the test.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from helpers import wait_for
from redis import Redis as SyncRedis
from redis.exceptions import RedisError

from backends.redis import unique_prefix
from gello_queue.drivers.redis import RedisDriver

_cluster: dict[str, str] = {}


def cluster_url() -> str:
    """The URL of this process's cluster (``?cluster=true``), started on first use."""
    if "url" not in _cluster:
        _cluster["url"] = _start()
    return _cluster["url"]


@asynccontextmanager
async def open_driver(request: Any) -> AsyncIterator[RedisDriver]:
    # The keys under the prefix go with the cluster at exit: nothing else reads them.
    driver = RedisDriver(cluster_url(), prefix=unique_prefix())
    await driver.open()
    try:
        yield driver
    finally:
        await driver.close()


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


def ping(port: int) -> bool:
    try:
        with SyncRedis(port=port, socket_timeout=1) as client:
            return bool(client.ping())
    except (OSError, RedisError):  # still starting
        return False


def state_ok(port: int) -> bool:
    with SyncRedis(port=port, socket_timeout=2) as client:
        info = client.execute_command("CLUSTER INFO")
        return bool(info.get("cluster_state") in ("ok", b"ok"))


def start_node(port: int, directory: Path) -> None:
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


def _start() -> str:
    cli = shutil.which("redis-cli")
    if shutil.which("redis-server") is None or cli is None:
        raise AssertionError("redis-server and redis-cli are needed to start a test cluster")
    ports = _pick_ports(3)
    home = Path(tempfile.mkdtemp(prefix="gello-cluster-"))
    dirs = [home / str(port) for port in ports]
    atexit.register(_stop, ports, dirs, home)
    for port, directory in zip(ports, dirs, strict=True):
        directory.mkdir()
        start_node(port, directory)
    for port in ports:
        wait_for(lambda p=port: ping(p), timeout_s=20)
    nodes = [f"127.0.0.1:{p}" for p in ports]
    subprocess.run(
        [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    for port in ports:
        wait_for(lambda p=port: state_ok(p), timeout_s=30, every_s=0.1)
    return f"redis://127.0.0.1:{ports[0]}/0?cluster=true"


def _stop(ports: list[int], dirs: list[Path], home: Path) -> None:
    for port, directory in zip(ports, dirs, strict=True):
        subprocess.run(
            ["redis-cli", "-p", str(port), "shutdown", "nosave"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        pidfile = directory / "redis.pid"
        pid = int(pidfile.read_text().strip() or 0) if pidfile.exists() else 0
        deadline = time.monotonic() + 5
        while pid and time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if pid and _alive(pid):
            os.kill(pid, signal.SIGTERM)
    shutil.rmtree(home, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
