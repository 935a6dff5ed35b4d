"""Shared helpers of the observability tests (a uniquely named module, not a conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from backends.postgres import POSTGRES_URL
from backends.redis import REDIS_URL

from gello_queue import Worker

GELLO = str(Path(sys.executable).with_name("gello"))
PERSISTENT = ("sqlite", "postgres", "redis")

__all__ = [
    "GELLO",
    "PERSISTENT",
    "POSTGRES_URL",
    "REDIS_URL",
    "clean_env",
    "gello",
    "listening_on",
    "outside_a_container",
]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without gello settings, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env.update(extra)
    return env


def gello(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real ``gello`` command and return its result (whatever the exit code)."""
    return subprocess.run([GELLO, *args], env=env, capture_output=True, text=True, timeout=timeout)


def listening_on(port: int, pid: int | None = None) -> list[str]:
    """The addresses process ``pid`` (this one by default) listens on at TCP ``port``."""
    import psutil

    return [
        c.laddr.ip
        for c in psutil.Process(pid).net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]


def outside_a_container(monkeypatch: Any, tmp_path: Path) -> None:
    """Make container detection see no container, whatever machine the tests run on."""
    from gello_queue import settings

    monkeypatch.setattr(settings, "CONTAINER_MARKERS", (str(tmp_path / "no-such-marker"),))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """``worker.start()`` as a task for the block's length, stopped and awaited after it."""
    task = asyncio.create_task(worker.start())
    try:
        yield worker
    finally:
        worker.stop()
        await task
