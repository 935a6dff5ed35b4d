"""Test helpers: building envelopes, waiting on conditions with a deadline, and running
an example as a new user would."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from gello_queue.core.envelope import Envelope, new_id

T = TypeVar("T")


def envelope(queue: str = "default", **fields: Any) -> Envelope:
    """A minimal valid envelope, available now."""
    now = time.time()
    base: dict[str, Any] = {
        "id": new_id(),
        "name": "Echo",
        "queue": queue,
        "payload": {"n": 1},
        "max_attempts": 3,
        "available_at": now,
        "created_at": now,
    }
    base.update(fields)
    return Envelope(**base)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool] = bool,
    *,
    timeout_s: float = 10.0,
    every_s: float = 0.02,
) -> T:
    """Await ``probe`` until ``until(result)`` holds; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value: {result!r}")
        await asyncio.sleep(every_s)


def wait_for(check: Callable[[], T], *, timeout_s: float = 30.0, every_s: float = 0.05) -> T:
    """Blocking twin of ``eventually`` for tests that drive subprocesses."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value: {result!r}")
        time.sleep(every_s)


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a fresh copy of ``examples/<name>``: no queue settings inherited
    (the settings' defaults, ./gello.db), the virtualenv's bin first on PATH, as activating
    it does."""
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        list(command), cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
