"""Servers fail under running workers: they reconnect with backoff and finish every job."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from backends.postgres import POSTGRES_URL
from chaos_harness import GELLO, HERE, Backend
from helpers import wait_for

sys.path.insert(0, str(HERE.parent / "cli"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dispatch(backend: Backend, count: int, seconds: float = 0.01) -> None:
    from app_jobs import Ledger

    from gello_queue import Queue, Settings

    settings = Settings(QUEUE_PREFIX=backend.env.get("QUEUE_PREFIX", "gello:"))  # type: ignore[call-arg]
    queue = Queue(backend.url, settings=settings)
    queue.bulk_blocking([Ledger.make(key=f"j{i}", seconds=seconds) for i in range(count)])
    queue.close_blocking()


def done(backend: Backend) -> set[str]:
    return {key for kind, key, _ in backend.entries() if kind == "done"}


def starters(backend: Backend) -> set[int]:
    """The processes that have started a job."""
    return {pid for kind, _, pid in backend.entries() if kind == "start"}


def start_redis(port: int, data: Path) -> None:
    subprocess.run(
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
            "--dir", str(data), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
        ],
        check=True,
    )  # fmt: skip
    wait_for(
        lambda: (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True
            ).stdout.strip()
            == b"PONG"
        )
    )


@pytest.fixture
def own_redis(tmp_path: Path):  # type: ignore[no-untyped-def]
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run scripts/services.sh")
    port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    start_redis(port, data)
    yield port, data
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)


def own_redis_backend(port: int, tmp_path: Path, **settings: str) -> Backend:
    """Workers' environment for a test's own Redis on ``port``, nothing of the machine's."""
    url = f"redis://127.0.0.1:{port}/0"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "REDIS_"))}
    env.update(
        QUEUE_URL=url,
        PYTHONPATH=str(HERE.parent / "cli"),
        GELLO_APP="app_jobs",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        QUEUE_LEASE="2",
        **settings,
    )
    return Backend("redis-own", url, env, tmp_path / "ledger.txt")


def test_workers_survive_a_redis_restart(own_redis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port, data = own_redis
    backend = own_redis_backend(port, tmp_path)
    dispatch(backend, 600, seconds=0.05)
    workers = [
        backend.spawn("queue:work", "--concurrency", "4", "--sleep", "0.05") for _ in range(2)
    ]
    try:
        # Both workers running jobs before the outage: a worker still starting up when
        # Redis goes away exits with "cannot reach Redis" by design, which is not what
        # this test is about (under load one worker can take seconds longer to start).
        wait_for(lambda: len(done(backend)) >= 50 and len(starters(backend)) == 2)
        subprocess.run(["redis-cli", "-p", str(port), "shutdown"], capture_output=True)
        wait_for(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True
                ).returncode
                != 0
            )
        )
        time.sleep(1)  # the outage itself: workers must ride it out, not race it
        start_redis(port, data)
        wait_for(lambda: len(done(backend)) == 600, timeout_s=90)
        assert all(w.poll() is None for w in workers), (
            f"a worker died of the outage:\n{backend.deaths()}"
        )
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=60)


def test_workers_survive_killed_postgres_connections(postgres_backend: Backend) -> None:
    backend = postgres_backend
    schema = backend.url.split("schema=")[1]
    dispatch(backend, 600, seconds=0.02)
    workers = [
        backend.spawn("queue:work", "--concurrency", "4", "--sleep", "0.05") for _ in range(2)
    ]

    async def terminate() -> int:
        con = await asyncpg.connect(POSTGRES_URL)
        try:
            return len(
                await con.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE pid <> pg_backend_pid() AND datname = current_database()"
                    " AND application_name = 'gello'"
                    " AND query LIKE $1",
                    f"%{schema}%",
                )
            )
        finally:
            await con.close()

    try:
        wait_for(lambda: len(done(backend)) >= 50)
        killed = 0
        for _ in range(3):
            killed += asyncio.run(terminate())
            time.sleep(0.3)
        assert killed > 0
        wait_for(lambda: len(done(backend)) == 600, timeout_s=90)
        assert all(w.poll() is None for w in workers), (
            f"a worker died of the lost connections:\n{backend.deaths()}"
        )
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=60)


@pytest.mark.parametrize(
    "url", ["redis://:secret@127.0.0.1:1/0", "postgresql://gello:secret@127.0.0.1:1/x"]
)
def test_unreachable_server_at_start_is_one_line_and_exit_1(url: str) -> None:
    env = {**os.environ, "QUEUE_URL": url}
    for args in (["queue:status"], ["queue:work", "--app", "app_jobs"]):
        out = subprocess.run(
            [GELLO, *args], env={**env, "PYTHONPATH": str(HERE.parent / "cli")},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 1, out.stderr
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith("error: ")
        assert "secret" not in out.stderr


def test_a_redis_that_keeps_nothing_is_warned_about_and_its_restart_reported(
    tmp_path: Path,
) -> None:
    import json
    import urllib.request

    from gello_cli.tui.screens.common import hints
    from gello_queue import Queue
    from gello_queue.inspection import Inspector
    from gello_queue.metrics import scrape, total

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run scripts/services.sh")
    port, metrics_port = free_port(), free_port()
    data = tmp_path / "redis"
    data.mkdir()

    def start() -> None:
        subprocess.run(
            [
                "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--daemonize",
                "yes", "--dir", str(data), "--appendonly", "no", "--save", "",
            ],
            check=True,
        )  # fmt: skip
        wait_for(lambda: redis_cli(port, "ping").stdout.strip() == b"PONG")

    backend = own_redis_backend(port, tmp_path, QUEUE_METRICS_PORT=str(metrics_port))
    log = tmp_path / "worker-0.log"

    def restarts_metric() -> float | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as reply:
                return total(scrape(reply.read().decode()), "gello_backend_restarts")
        except OSError:
            return None

    start()
    try:
        dispatch(backend, 5)
        worker = backend.spawn("queue:work", "--sleep", "0.05")
        try:
            wait_for(lambda: len(done(backend)) == 5)
            assert log.read_text().count("redis keeps jobs only in memory") == 1
            wait_for(lambda: restarts_metric() is not None)
            assert restarts_metric() == 0
            redis_cli(port, "shutdown", "nosave")
            wait_for(lambda: redis_cli(port, "ping").returncode != 0)
            start()
            wait_for(lambda: "redis restarted and keeps nothing on disk" in log.read_text())
            [line] = [ln for ln in log.read_text().splitlines() if "redis restarted" in ln]
            assert json.loads(line)["level"] == "error"
            wait_for(lambda: restarts_metric() == 1)
            assert worker.poll() is None
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        report = json.loads(backend.run("queue:health", "--json", "--backend-only").stdout)
        assert report["backend"]["restarts"]["count"] == 1
        assert report["backend"]["restarts"]["persistent"] is False
        human = backend.run("queue:health", "--backend-only").stdout
        assert "warning: the backend server restarted" in human
        assert "the jobs it held are lost" in human

        async def dashboard_hints() -> str:
            queue = Queue(backend.url)
            try:
                return hints(await Inspector(queue).snapshot())
            finally:
                await queue.close()

        assert "keeps nothing on disk" in asyncio.run(dashboard_hints()).splitlines()[0]
    finally:
        redis_cli(port, "shutdown", "nosave")


def redis_cli(port: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True)
