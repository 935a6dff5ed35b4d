"""The failover connection: dispatches during a Redis outage land in the database, and a
worker serving both connections runs every job."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from chaos_harness import HERE
from helpers import eventually, wait_for

from gello_queue import Queue, Settings, Worker
from gello_queue.drivers.failover import FailoverDriver

sys.path.insert(0, str(HERE.parent / "cli"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_up(port: int) -> None:
    subprocess.run(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
         "--save", "", "--appendonly", "no"],
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


def redis_down(port: int) -> None:
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    wait_for(
        lambda: (
            subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode
            != 0
        )
    )


async def test_dispatch_fails_over_and_workers_serve_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run scripts/services.sh")
    from app_jobs import Ledger

    monkeypatch.setenv("GELLO_TEST_LEDGER", str(tmp_path / "ledger.txt"))
    port = free_port()
    redis_up(port)
    try:
        url = f"failover:redis://127.0.0.1:{port}/0|sqlite:///{tmp_path / 'fallback.db'}"
        settings = Settings(QUEUE_PREFIX=f"gfail:{uuid.uuid4().hex[:8]}:")  # type: ignore[call-arg]
        queue = Queue(url, settings=settings)
        driver = await queue.driver()
        assert isinstance(driver, FailoverDriver)
        driver.retry_after_s = 0.0  # try Redis again on every call
        first = await Ledger.dispatch(key="while-up", connection=queue)
        assert driver.failovers == 0
        redis_down(port)
        second = await Ledger.dispatch(key="during-outage", connection=queue)  # goes to SQLite
        assert driver.failovers == 1
        sqlite = driver.children[1].driver
        assert await sqlite.find(second) is not None
        redis_up(port)
        worker = Worker(connection=queue, sleep_s=0.05)
        task = asyncio.create_task(worker.start())

        def ran() -> list[str]:
            ledger = tmp_path / "ledger.txt"
            return (
                sorted(
                    row.split()[1]
                    for row in ledger.read_text().splitlines()
                    if row.startswith("done")
                )
                if ledger.exists()
                else []
            )

        async def probe() -> list[str]:
            return ran()

        # The first job died with the unpersisted Redis; the one sent during the outage runs.
        await eventually(probe, lambda keys: "during-outage" in keys, timeout_s=30)
        third = await Ledger.dispatch(key="after", connection=queue)  # Redis is back: first again
        await eventually(probe, lambda keys: "after" in keys, timeout_s=30)
        worker.stop()
        await asyncio.wait_for(task, 30)
        assert first != third
        assert await sqlite.find(third) is None
        await queue.close()
    finally:
        redis_down(port)


def test_failover_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from gello_queue import ConfigurationError, load_settings

    monkeypatch.setenv("QUEUE_DRIVER", "failover")
    monkeypatch.setenv("QUEUE_FAILOVER", "redis,database")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    assert load_settings().connection_url() == "failover:redis://127.0.0.1:6390/0|sqlite:///x.db"
    monkeypatch.setenv("QUEUE_FAILOVER", "redis")
    with pytest.raises(ConfigurationError, match="two or more"):
        load_settings().connection_url()
