"""Workers whose clocks are minutes off neither steal live leases nor run a job twice:
leases are judged by the backend's clock (Redis TIME, PostgreSQL now()).

SQLite has no server clock: every process on the file's machine shares one, and the same
test against SQLite does see double runs, as docs/architecture.md says."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from chaos_harness import GELLO, HERE, Backend, isolated_backend
from helpers import wait_for

SKEWS = (600.0, -600.0)


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_skewed_workers_never_run_a_job_twice(kind: str, tmp_path: Path) -> None:
    with isolated_backend(kind, tmp_path) as backend:
        bulk(backend, 40)
        workers = [spawn_skewed(backend, skew) for skew in SKEWS]
        try:
            wait_for(lambda: len(done(backend)) == 40, timeout_s=90)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
        starts = Counter(key for kind_, key, _ in backend.entries() if kind_ == "start")
        assert max(starts.values()) == 1, f"ran twice: {[k for k, n in starts.items() if n > 1]}"
        pids = {pid for _, _, pid in backend.entries()}
        assert len(pids) == 2  # both skewed workers took part


def bulk(backend: Backend, count: int) -> None:
    import sys

    sys.path.insert(0, str(HERE.parent / "cli"))
    from app_jobs import Ledger

    from gello_queue import Queue, Settings

    settings = Settings(QUEUE_PREFIX=backend.env.get("QUEUE_PREFIX", "gello:"))  # type: ignore[call-arg]
    queue = Queue(backend.url, settings=settings)
    queue.bulk_blocking([Ledger.make(key=f"b{i}", seconds=1.5) for i in range(count)])
    queue.close_blocking()


def spawn_skewed(backend: Backend, skew: float) -> subprocess.Popen[bytes]:
    env = dict(backend.env)
    env["PYTHONPATH"] = f"{HERE / 'skew'}:{env['PYTHONPATH']}"
    env["GELLO_TEST_CLOCK_SKEW_S"] = str(skew)
    proc = subprocess.Popen(
        [GELLO, "queue:work", "--concurrency", "8", "--sleep", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    backend.procs.append(proc)
    return proc


def done(backend: Backend) -> set[str]:
    return {key for kind, key, _ in backend.entries() if kind == "done"}
